// Stable container names: a container id changes with every redeploy, its name (docker's --name,
// compose's project-service-N, podman's name, a Kubernetes pod's namespace, name and container)
// does not. Read from the runtime's own state on disk, which is hostile input like everything
// else: whoever can start a container (or create a pod) chooses the name. So the directories are
// checked like lsm's own (safe-path.ts: root's, not writable by others, every parent too), the file
// is opened without following links, must be a regular file of bounded size owned by root, and
// the name must look like one the runtime itself accepts; anything else keeps the id.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { checkPath } from '../safe-path.js';

export interface ContainerDirs {
  docker: string; // default /var/lib/docker
  podman: string; // default /var/lib/containers/storage
  /** containerd's task bundles (the OCI config.json of each container, Kubernetes' under k8s.io/) */
  containerd?: string; // default /run/containerd/io.containerd.runtime.v2.task
  /** CRI-O's run root: overlay-containers/<id>/userdata/config.json */
  crio?: string; // default /run/containers/storage
}

export const DEFAULT_CONTAINER_DIRS: ContainerDirs = {
  docker: '/var/lib/docker', podman: '/var/lib/containers/storage',
  containerd: '/run/containerd/io.containerd.runtime.v2.task', crio: '/run/containers/storage',
};

/** What the runtime calls a container: its name, and for a Kubernetes container its pod. */
export interface ContainerName {
  name: string;
  /** container: null for the pod's sandbox ("pause") container, which holds the pod's namespaces */
  pod?: { namespace: string; pod: string; container: string | null };
}

const MAX_BYTES = 4 << 20;
// docker's and podman's own rule for names ([a-zA-Z0-9][a-zA-Z0-9_.-]+), bounded
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function readSmallFile(path: string): string | null {
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); } catch { return null; }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== 0 || st.size > MAX_BYTES) return null;
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) { const r = readSync(fd, buf, n, buf.length - n, n); if (r === 0) break; n += r; }
    return buf.subarray(0, n).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try { return JSON.parse(text); } catch { return null; }
}

const validName = (n: unknown): string | null => {
  if (typeof n !== 'string') return null;
  const name = n.startsWith('/') ? n.slice(1) : n;
  return NAME.test(name) ? name : null;
};

// Kubernetes' own rules: a namespace and a container name are DNS labels (RFC 1123), a pod name a
// DNS subdomain; the API server refuses anything else, so anything else here is not its doing
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const FULL_ID = /^[0-9a-f]{64}$/;

/** Whether a directory of runtime state passes the checks lsm's own paths pass (only root could have made what it holds). */
function safeDir(dir: string): boolean {
  try { checkPath(dir, 'container runtime state', 'dir'); return true; } catch { return false; }
}

/**
 * A pod's container from the annotations of its OCI config.json (containerd's CRI plugin, CRI-O),
 * or null when they are missing or not what Kubernetes allows.
 */
function podName(annotations: unknown, keys: { namespace: string; pod: string; container: string; type: string; sandbox: string }): ContainerName | null {
  if (typeof annotations !== 'object' || annotations === null) return null;
  const a = annotations as Record<string, unknown>;
  const namespace = a[keys.namespace];
  const pod = a[keys.pod];
  if (typeof namespace !== 'string' || typeof pod !== 'string' || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(pod)) return null;
  let container: string | null = null;
  if (a[keys.type] !== keys.sandbox) {
    const c = a[keys.container];
    if (typeof c !== 'string' || !DNS_LABEL.test(c)) return null;
    container = c;
  }
  return { name: `pod/${namespace}/${pod}${container ? `/${container}` : ''}`, pod: { namespace, pod, container } };
}

const CONTAINERD_KEYS = {
  namespace: 'io.kubernetes.cri.sandbox-namespace', pod: 'io.kubernetes.cri.sandbox-name',
  container: 'io.kubernetes.cri.container-name', type: 'io.kubernetes.cri.container-type', sandbox: 'sandbox',
};
const CRIO_KEYS = {
  namespace: 'io.kubernetes.pod.namespace', pod: 'io.kubernetes.pod.name',
  container: 'io.kubernetes.container.name', type: 'io.kubernetes.cri-o.ContainerType', sandbox: 'sandbox',
};

/** The one directory under `dir` whose name is a full id starting with `id`, or null. */
function uniqueEntry(entries: string[], id: string): string | null {
  const full = entries.filter((d) => d.startsWith(id) && FULL_ID.test(d));
  return full.length === 1 ? full[0] : null; // none, or ambiguous
}

/** The OCI config.json of a Kubernetes container, by the runtime's layout; null if none or unsafe. */
function kubernetesName(dir: string | undefined, layout: 'containerd' | 'crio', list: () => string[], id: string): ContainerName | null {
  if (!dir) return null;
  const full = uniqueEntry(list(), id);
  if (full === null) return null;
  const bundle = layout === 'containerd' ? `${dir}/k8s.io/${full}` : `${dir}/overlay-containers/${full}/userdata`;
  if (!safeDir(bundle)) return null;
  const config = parse(readSmallFile(`${bundle}/config.json`)) as { annotations?: unknown } | null;
  return config ? podName(config.annotations, layout === 'containerd' ? CONTAINERD_KEYS : CRIO_KEYS) : null;
}

/**
 * A resolver from the 12-character id the cgroup gives (collect/processes.ts) to the container's
 * name, or null. Each runtime's state is read once, on first use.
 */
export function containerNames(dirs: ContainerDirs = DEFAULT_CONTAINER_DIRS): (shortId: string) => ContainerName | null {
  let docker: string[] | null = null;
  let podman: Map<string, string> | null = null;
  const listing = (dir: string | undefined) => {
    let entries: string[] | null = null;
    return () => { if (entries === null) { try { entries = dir ? readdirSync(dir) : []; } catch { entries = []; } } return entries; };
  };
  const containerd = listing(dirs.containerd && `${dirs.containerd}/k8s.io`);
  const crio = listing(dirs.crio && `${dirs.crio}/overlay-containers`);
  const cache = new Map<string, ContainerName | null>();
  const fromDocker = (id: string): string | null => {
    if (docker === null) { try { docker = readdirSync(`${dirs.docker}/containers`); } catch { docker = []; } }
    const full = docker.filter((d) => d.startsWith(id) && /^[0-9a-f]{64}$/.test(d));
    if (full.length !== 1) return null; // none, or ambiguous
    const config = parse(readSmallFile(`${dirs.docker}/containers/${full[0]}/config.v2.json`)) as { Name?: unknown; ID?: unknown } | null;
    return config && config.ID === full[0] ? validName(config.Name) : null;
  };
  const fromPodman = (id: string): string | null => {
    if (podman === null) {
      podman = new Map();
      const list = parse(readSmallFile(`${dirs.podman}/overlay-containers/containers.json`));
      if (Array.isArray(list)) {
        for (const c of list as { id?: unknown; names?: unknown }[]) {
          const name = Array.isArray(c?.names) ? validName(c.names[0]) : null;
          if (typeof c?.id === 'string' && /^[0-9a-f]{64}$/.test(c.id) && name) podman.set(c.id, name);
        }
      }
    }
    const hits = [...podman].filter(([full]) => full.startsWith(id));
    return hits.length === 1 ? hits[0][1] : null;
  };
  const plain = (name: string | null): ContainerName | null => (name === null ? null : { name });
  return (id) => {
    if (!/^[0-9a-f]{12}$/.test(id)) return null;
    let name = cache.get(id);
    if (name === undefined) {
      name = kubernetesName(dirs.containerd, 'containerd', containerd, id) ?? kubernetesName(dirs.crio, 'crio', crio, id) ?? plain(fromDocker(id)) ?? plain(fromPodman(id));
      cache.set(id, name);
    }
    return name;
  };
}
