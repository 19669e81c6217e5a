// Stable container names: a container id changes with every redeploy, its name (docker's --name,
// compose's project-service-N, podman's name) does not. Read from the runtime's own state on disk,
// which is hostile input like everything else: whoever can start a container chooses the name. So
// the file is opened without following links, must be a regular file of bounded size owned by
// root, and the name must look like one the runtime itself accepts; anything else keeps the id.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync } from 'node:fs';

export interface ContainerDirs {
  docker: string; // default /var/lib/docker
  podman: string; // default /var/lib/containers/storage
}

export const DEFAULT_CONTAINER_DIRS: ContainerDirs = { docker: '/var/lib/docker', podman: '/var/lib/containers/storage' };

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

/**
 * A resolver from the 12-character id the cgroup gives (collect/processes.ts) to the container's
 * name, or null. Each runtime's state is read once, on first use.
 */
export function containerNames(dirs: ContainerDirs = DEFAULT_CONTAINER_DIRS): (shortId: string) => string | null {
  let docker: string[] | null = null;
  let podman: Map<string, string> | null = null;
  const cache = new Map<string, string | null>();
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
  return (id) => {
    if (!/^[0-9a-f]{12}$/.test(id)) return null;
    let name = cache.get(id);
    if (name === undefined) cache.set(id, (name = fromDocker(id) ?? fromPodman(id)));
    return name;
  };
}
