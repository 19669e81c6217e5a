// The kernel's structs that sock_diag and rtnetlink requests and replies are made of, by field
// name, as include/uapi/linux/{netlink,rtnetlink,inet_diag,unix_diag,packet_diag}.h lay them out
// (byte offsets, and each struct's size). The parser reads fields by these names, never by bare
// numbers; test/integration/netlink-structs.test.ts compiles the kernel's headers and checks every
// entry with offsetof() and sizeof().
export const NLMSGHDR = { size: 16, nlmsg_len: 0, nlmsg_type: 4, nlmsg_flags: 6, nlmsg_seq: 8, nlmsg_pid: 12 } as const;

export const RTATTR = { size: 4, rta_len: 0, rta_type: 2 } as const;

export const IFINFOMSG = { size: 16, ifi_family: 0, ifi_type: 2, ifi_index: 4, ifi_flags: 8, ifi_change: 12 } as const;

/** inet_diag_sockid: ports in network byte order, addresses 16 bytes each (IPv4 in the first 4) */
export const INET_DIAG_SOCKID = { size: 48, idiag_sport: 0, idiag_dport: 2, idiag_src: 4, idiag_dst: 20, idiag_if: 36, idiag_cookie: 40 } as const;

export const INET_DIAG_REQ_V2 = { size: 56, sdiag_family: 0, sdiag_protocol: 1, idiag_ext: 2, pad: 3, idiag_states: 4, id: 8 } as const;

/** inet_diag_req (the compat TCPDIAG_GETSOCK request: both families in one dump) */
export const INET_DIAG_REQ = { size: 60, idiag_family: 0, idiag_src_len: 1, idiag_dst_len: 2, idiag_ext: 3, id: 4, idiag_states: 52, idiag_dbs: 56 } as const;

export const INET_DIAG_MSG = {
  size: 72, idiag_family: 0, idiag_state: 1, idiag_timer: 2, idiag_retrans: 3, id: 4,
  idiag_expires: 52, idiag_rqueue: 56, idiag_wqueue: 60, idiag_uid: 64, idiag_inode: 68,
} as const;

export const UNIX_DIAG_REQ = { size: 24, sdiag_family: 0, sdiag_protocol: 1, pad: 2, udiag_states: 4, udiag_ino: 8, udiag_show: 12, udiag_cookie: 16 } as const;

export const UNIX_DIAG_MSG = { size: 16, udiag_family: 0, udiag_type: 1, udiag_state: 2, pad: 3, udiag_ino: 4, udiag_cookie: 8 } as const;

export const PACKET_DIAG_REQ = { size: 20, sdiag_family: 0, sdiag_protocol: 1, pad: 2, pdiag_ino: 4, pdiag_show: 8, pdiag_cookie: 12 } as const;

export const PACKET_DIAG_MSG = { size: 16, pdiag_family: 0, pdiag_type: 1, pdiag_num: 2, pdiag_ino: 4, pdiag_cookie: 8 } as const;

/** packet_diag_info, the payload of PACKET_DIAG_INFO */
export const PACKET_DIAG_INFO_PAYLOAD = { size: 24, pdi_index: 0, pdi_version: 4, pdi_reserve: 8, pdi_copy_thresh: 12, pdi_tstamp: 16, pdi_flags: 20 } as const;

/** Every struct above by its C name (struct <name>), for the test that checks them against the headers. */
export const STRUCTS: Record<string, Record<string, number>> = {
  nlmsghdr: NLMSGHDR, rtattr: RTATTR, ifinfomsg: IFINFOMSG, inet_diag_sockid: INET_DIAG_SOCKID,
  inet_diag_req: INET_DIAG_REQ, inet_diag_req_v2: INET_DIAG_REQ_V2, inet_diag_msg: INET_DIAG_MSG, unix_diag_req: UNIX_DIAG_REQ,
  unix_diag_msg: UNIX_DIAG_MSG, packet_diag_req: PACKET_DIAG_REQ, packet_diag_msg: PACKET_DIAG_MSG,
  packet_diag_info: PACKET_DIAG_INFO_PAYLOAD,
};
