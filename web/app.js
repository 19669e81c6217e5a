// lsm fleet web view: reads the JSON the central drain writes (fleet.json, w/*.json, h/<host>.json,
// d/<commit>.txt) and renders it. Every string that came from a host is put in the page as text
// (textContent, text nodes), never parsed as markup. No inline code (the CSP forbids it).
'use strict';
(() => {
  const PAGE = 100;
  const $ = (id) => document.getElementById(id);
  /** An element with attributes (plain properties) and children (strings become text nodes). */
  const el = (tag, props = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) if (v !== undefined && v !== null) { if (k in e && !k.startsWith('aria') && k !== 'scope') e[k] = v; else e.setAttribute(k, String(v)); }
    e.append(...kids.filter((k) => k !== null && k !== undefined).map((k) => (typeof k === 'string' || typeof k === 'number' ? String(k) : k)));
    return e;
  };
  const when = (iso) => (iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z') : '-');
  const getJson = async (url) => { const r = await fetch(url, { cache: 'no-cache' }); if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`); return r.json(); };
  const HOST = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}$/;

  // ---- the fleet table ----
  const COLS = [
    { key: 'host', label: 'Host', get: (r) => r.host },
    { key: 'silent', label: 'State', get: (r) => (r.silentNow ? 0 : 1) },
    { key: 'lastSeen', label: 'Last seen', get: (r) => r.lastSeen ?? '' },
    { key: 'lastPush', label: 'Last push', get: (r) => r.lastPush ?? '' },
    { key: 'lastChange', label: 'Last change', get: (r) => r.lastChange ?? '' },
    { key: 'changes', label: 'Changes', get: (r) => r.changes },
    { key: 'sockets', label: 'Sockets now', get: (r) => Object.values(r.sockets).reduce((a, b) => a + b, 0) },
    { key: 'drift', label: 'Drift', get: (r) => (r.drift ? r.drift.added + r.drift.removed : -1) },
  ];
  const state = { rows: [], shown: [], page: 0, sort: 'host', dir: 1, filter: '', where: null };

  function header() {
    const tr = document.querySelector('#hosts thead tr');
    tr.replaceChildren(...COLS.map((c) => {
      const sorted = state.sort === c.key;
      const b = el('button', { type: 'button', className: 'sort' }, c.label, sorted ? (state.dir > 0 ? ' ▲' : ' ▼') : '');
      b.addEventListener('click', () => { state.dir = state.sort === c.key ? -state.dir : 1; state.sort = c.key; state.page = 0; header(); table(); });
      return el('th', { scope: 'col', 'aria-sort': sorted ? (state.dir > 0 ? 'ascending' : 'descending') : 'none' }, b);
    }));
  }

  function table() {
    const col = COLS.find((c) => c.key === state.sort);
    const f = state.filter.toLowerCase();
    // silent hosts first, whatever the column: they are what the page is for
    state.shown = state.rows.filter((r) => !f || r.host.toLowerCase().includes(f)).sort((a, b) => {
      if (a.silentNow !== b.silentNow) return a.silentNow ? -1 : 1;
      const x = col.get(a), y = col.get(b);
      return (x < y ? -1 : x > y ? 1 : 0) * state.dir || (a.host < b.host ? -1 : 1);
    });
    const pages = Math.max(1, Math.ceil(state.shown.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const rows = state.shown.slice(state.page * PAGE, (state.page + 1) * PAGE).map((r) => el('tr', { className: r.silentNow ? 'silent' : '' },
      el('th', { scope: 'row' }, el('a', { href: `#host/${r.host}` }, r.host)),
      el('td', {}, r.silentNow ? el('strong', { className: 'flag' }, 'SILENT') : 'ok'),
      el('td', {}, when(r.lastSeen)), el('td', {}, when(r.lastPush)),
      el('td', {}, when(r.lastChange), r.clockOff ? el('span', { className: 'note' }, ` (host clock: ${when(r.lastChangeCommitted)})`) : null),
      el('td', { className: 'num' }, r.changes),
      el('td', {}, Object.entries(r.sockets).map(([k, n]) => `${k}=${n}`).join(' ') || '-'),
      el('td', {}, r.drift ? `+${r.drift.added} -${r.drift.removed}` : '-')));
    document.querySelector('#hosts tbody').replaceChildren(...rows);
    $('page').textContent = `Page ${state.page + 1} of ${pages} (${state.shown.length} host${state.shown.length === 1 ? '' : 's'})`;
    $('prev').disabled = state.page === 0;
    $('next').disabled = state.page >= pages - 1;
  }

  // ---- where: the same matching as `lsm fleet where` (src/store/blame.ts lineMatcher) ----
  const PLAIN = /^[\x21-\x5b\x5d-\x7e]+$/;
  const HIDDEN = /^[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]$/u;
  const hex2 = (b) => '\\x' + b.toString(16).padStart(2, '0');
  /** snapshot/escape.ts escapeText: a query names a path as the snapshot writes it. */
  function escapeText(text) {
    if (PLAIN.test(text)) return text;
    const raw = new TextEncoder().encode(text);
    let out = '';
    for (let i = 0; i < raw.length; ) {
      const b = raw[i];
      if (b < 0x80) { out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : b === 0x5c ? '\\\\' : hex2(b); i++; continue; }
      const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
      let cp = len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
      let ok = len > 0 && i + len <= raw.length;
      for (let k = 1; ok && k < len; k++) { const c = raw[i + k]; if ((c & 0xc0) !== 0x80) ok = false; else cp = (cp << 6) | (c & 0x3f); }
      if (ok && ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
      if (!ok) { out += hex2(b); i++; continue; }
      const ch = String.fromCodePoint(cp);
      out += HIDDEN.test(ch) ? `\\u{${cp.toString(16)}}` : ch;
      i += len;
    }
    return out === '' ? '""' : out;
  }
  function lineMatcher(what) {
    const endpoint = (line) => line.split('  ', 1)[0].split(' ', 1)[0];
    const kind = (path) => path.slice(path.lastIndexOf('/') + 1);
    const port = /^(\d{1,5})(?:\/(tcp|udp|raw))?$/.exec(what);
    if (port) {
      const kinds = port[2] ? [port[2]] : ['tcp', 'udp'];
      return (path, line) => kinds.includes(kind(path)) && endpoint(line).endsWith(`:${port[1]}`);
    }
    const addr = /^(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|\*):(\d{1,5})$/.exec(what);
    if (addr) {
      const v4 = !addr[1].startsWith('[');
      const wild = addr[1] === '*' || addr[1] === '0.0.0.0' || addr[1] === '[::]' ? [] : v4 ? ['0.0.0.0', '[::]', '*'] : ['[::]', '*'];
      const wanted = new Set([what, ...wild.map((a) => `${a}:${addr[2]}`)]);
      return (_path, line) => wanted.has(endpoint(line));
    }
    if (what.startsWith('/') || what.startsWith('@')) {
      const escaped = escapeText(what);
      return (path, line) => kind(path) === 'unix' && endpoint(line) === escaped;
    }
    return (_path, line) => line.includes(what);
  }
  /**
   * The where data's bucket of a line (src/fleet/web/where.ts bucketOfKey): FNV-1a of the endpoint's
   * port digits, or of the endpoint. A port or address:port search reads one bucket, a unix path
   * one, any other text every bucket.
   */
  function bucketOf(endpoint, buckets) {
    const port = /:(\d+)$/.exec(endpoint);
    const s = port ? port[1] : endpoint;
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
    return (h >>> 0) % buckets;
  }
  function bucketsFor(what, buckets) {
    const port = /^(\d{1,5})(?:\/(tcp|udp|raw))?$/.exec(what) ?? /^(?:\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}|\*):(\d{1,5})$/.exec(what);
    if (port) return [bucketOf(`:${port[1]}`, buckets)];
    if (what.startsWith('/') || what.startsWith('@')) return [bucketOf(escapeText(what), buckets)];
    return Array.from({ length: buckets }, (_, n) => n);
  }
  /** The hits of the where data for a query: [{host, path, line, since}], as `lsm fleet where --json` lists them. */
  function where(hosts, buckets, what) {
    const match = lineMatcher(what);
    const hits = [];
    for (const b of buckets) {
      for (const [path, line, ...hs] of b.lines) {
        if (!match(path, line)) continue;
        for (let i = 0; i < hs.length; i++) {
          let h = hs[i], t;
          if (h < 0) { h = -h - 1; t = hs[++i]; } else t = hosts.since[h];
          if (h >= hosts.hosts.length) return null; // a host added after hosts.json was read
          hits.push({ host: hosts.hosts[h], path, line, since: new Date(t).toISOString() });
        }
      }
    }
    return hits.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : a.line < b.line ? -1 : a.line > b.line ? 1 : 0));
  }
  // loaded on a search, each file once; all of one build (gen): a drain's full rebuild in between starts over
  let whereHosts = null;
  const whereBuckets = new Map();
  const once = (load) => { const p = load(); p.catch(() => {}); return p; };
  async function whereAnswer(what, retry = true) {
    whereHosts ??= once(() => getJson('w/hosts.json'));
    let hosts;
    try { hosts = await whereHosts; } catch (e) { whereHosts = null; throw e; }
    const wanted = bucketsFor(what, hosts.buckets);
    for (const n of wanted) if (!whereBuckets.has(n)) whereBuckets.set(n, once(() => getJson(`w/${n}.json`)));
    let buckets;
    try { buckets = await Promise.all(wanted.map((n) => whereBuckets.get(n))); } catch (e) { for (const n of wanted) whereBuckets.delete(n); throw e; }
    const hits = buckets.some((b) => b.gen !== hosts.gen) ? null : where(hosts, buckets, what);
    if (hits === null) {
      whereHosts = null;
      whereBuckets.clear();
      if (retry) return whereAnswer(what, false);
      throw new Error('the search data is being rewritten; try again');
    }
    return hits;
  }
  window.lsmWhere = (what) => whereAnswer(what); // for the tests: the browser's answer

  async function search() {
    const what = $('q').value.trim();
    if (!what) return;
    $('search').hidden = false;
    $('search-status').textContent = 'Searching…';
    try {
      const hits = await whereAnswer(what);
      const hosts = new Set(hits.map((h) => h.host)).size;
      $('search-title').textContent = `Where: ${what}`;
      $('search-status').textContent = hits.length ? `${hits.length} socket${hits.length === 1 ? '' : 's'} on ${hosts} host${hosts === 1 ? '' : 's'} now` : `No host has ${what} now.`;
      document.querySelector('#hits tbody').replaceChildren(...hits.slice(0, 1000).map((h) => el('tr', {},
        el('th', { scope: 'row' }, el('a', { href: `#host/${h.host}` }, h.host)), el('td', {}, h.path), el('td', { className: 'line' }, h.line), el('td', {}, when(h.since)))));
      if (hits.length > 1000) $('search-status').textContent += ' (the first 1000 shown; lsm fleet where lists all)';
    } catch (e) {
      $('search-status').textContent = `Cannot search: ${e.message}`;
    }
  }

  // ---- a host ----
  function changesPlot(days, label) {
    // one bar a day: inline SVG made with createElementNS (no library, no inline style)
    const NS = 'http://www.w3.org/2000/svg';
    const max = Math.max(1, ...days.map((d) => d.n));
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', `0 0 ${days.length * 10} 40`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${label}: ${days.reduce((a, d) => a + d.n, 0)} changes in ${days.length} days, at most ${max} a day`);
    days.forEach((d, i) => {
      const r = document.createElementNS(NS, 'rect');
      const h = d.n ? Math.max(2, (d.n / max) * 38) : 0;
      r.setAttribute('x', String(i * 10 + 1)); r.setAttribute('width', '8'); r.setAttribute('y', String(40 - h)); r.setAttribute('height', String(h));
      const t = document.createElementNS(NS, 'title');
      t.textContent = `${d.day}: ${d.n}`;
      r.append(t);
      svg.append(r);
    });
    return svg;
  }
  /** Changes per day over the last 30 days, from change times (ISO). */
  function perDay(times, now = Date.now()) {
    const days = [];
    for (let i = 29; i >= 0; i--) days.push({ day: new Date(now - i * 864e5).toISOString().slice(0, 10), n: 0 });
    const at = new Map(days.map((d, i) => [d.day, i]));
    for (const t of times) { const i = at.get(t.slice(0, 10)); if (i !== undefined) days[i].n++; }
    return days;
  }

  async function showHost(name) {
    const view = $('host-view');
    $('fleet-view').hidden = true;
    view.hidden = false;
    view.replaceChildren(el('p', {}, el('a', { href: '#' }, '← All hosts')), el('h2', { tabIndex: -1 }, name));
    view.querySelector('h2').focus();
    if (!HOST.test(name)) { view.append(el('p', {}, 'No such host.')); return; }
    let h;
    try { h = await getJson(`h/${encodeURIComponent(name)}.json`); } catch (e) { view.append(el('p', {}, `Cannot load this host: ${e.message}`)); return; }
    const s = h.status;
    const row = state.rows.find((r) => r.host === name);
    const silent = row ? row.silentNow : s.silent;
    view.append(el('dl', { className: 'facts' },
      el('dt', {}, 'State'), el('dd', {}, silent ? el('strong', { className: 'flag' }, 'SILENT') : 'pushing'),
      el('dt', {}, 'Last seen'), el('dd', {}, when(s.lastSeen)),
      el('dt', {}, 'Last push'), el('dd', {}, when(s.lastPush)),
      el('dt', {}, 'Last change'), el('dd', {}, when(s.lastChange), s.clockOff ? ` (host clock: ${when(s.lastChangeCommitted)})` : ''),
      el('dt', {}, 'Branch tip'), el('dd', { className: 'line' }, s.tip),
      el('dt', {}, 'Drift from baseline'), el('dd', {}, s.drift ? `+${s.drift.added.length} -${s.drift.removed.length} (baseline ${s.drift.baseline.slice(0, 10)})` : 'no baseline pushed')));
    if (s.drift && (s.drift.added.length || s.drift.removed.length)) {
      view.append(el('h3', {}, 'Drift from the approved baseline'), el('ul', { className: 'lines' },
        ...s.drift.added.map((d) => el('li', {}, el('span', { className: 'add' }, '+ '), `${d.path}  ${d.line}`)),
        ...s.drift.removed.map((d) => el('li', {}, el('span', { className: 'del' }, '- '), `${d.path}  ${d.line}`))));
    }
    view.append(el('h3', {}, `Sockets now (${h.sockets.length})`), el('div', { className: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'File'), el('th', { scope: 'col' }, 'Socket and owners'), el('th', { scope: 'col' }, 'Since'))),
      el('tbody', {}, ...h.sockets.map(([path, line, since]) => el('tr', {}, el('td', {}, path), el('td', { className: 'line' }, line), el('td', {}, when(since))))))));
    const plot = el('figure', {}, el('figcaption', {}, 'Changes per day (last 30 days)'), changesPlot(perDay(h.timeline.map((e) => e.time)), `${name}, changes per day`));
    view.append(el('h3', {}, `Timeline (${h.timeline.length} changes, by the server's arrival time)`), plot);
    const tbody = el('tbody');
    for (const e of [...h.timeline].reverse()) {
      const pre = el('pre', { className: 'diff', hidden: true });
      const b = el('button', { type: 'button', className: 'show-diff', 'aria-expanded': 'false' }, 'Show diff');
      b.addEventListener('click', async () => {
        const open = b.getAttribute('aria-expanded') === 'true';
        b.setAttribute('aria-expanded', String(!open));
        b.textContent = open ? 'Show diff' : 'Hide diff';
        pre.hidden = open;
        if (open || pre.dataset.loaded) return;
        pre.textContent = 'Loading…';
        try {
          const r = await fetch(`d/${e.commit}.txt`, { cache: 'no-cache' });
          if (!r.ok) throw new Error(r.status === 404 ? 'not written yet (the next drain writes it; lsm fleet log shows the change)' : `HTTP ${r.status}`);
          diffText(pre, await r.text());
          pre.dataset.loaded = '1';
        } catch (err) { pre.textContent = `Cannot load the diff: ${err.message}`; }
      });
      tbody.append(el('tr', {},
        el('td', {}, when(e.time), e.clockOff ? el('span', { className: 'note' }, ` (host clock: ${when(e.committed)})`) : null),
        el('td', { className: 'line' }, e.commit.slice(0, 10)), el('td', {}, e.summary), el('td', { className: 'num' }, `+${e.added} -${e.removed}`), el('td', {}, b)),
      el('tr', { className: 'diff-row' }, el('td', { colSpan: 5 }, pre)));
    }
    view.append(el('div', { className: 'scroll' }, el('table', { className: 'timeline' },
      el('thead', {}, el('tr', {}, ...['Received', 'Commit', 'Summary', 'Lines', 'Diff'].map((t) => el('th', { scope: 'col' }, t)))), tbody)));
  }
  /** A diff as lsm show prints it, each line as text in a span marking + and - (the sign stays: readable without colour). */
  function diffText(pre, text) {
    pre.replaceChildren(...text.replace(/\n$/, '').split('\n').map((l) => el('span', {
      className: l.startsWith('+++') || l.startsWith('---') || l.startsWith('diff ') ? 'head' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : '',
    }, l + '\n')));
  }

  // ---- the page ----
  function route() {
    const m = /^#host\/(.*)$/.exec(location.hash);
    if (m) { showHost(decodeURIComponent(m[1])); return; }
    $('host-view').hidden = true;
    $('fleet-view').hidden = false;
  }

  /** fleet.json's columns (src/fleet/web/generate.ts fleetColumns) made rows again: `lsm fleet status --json`'s, drift as counts. */
  function fleetRows(c) {
    const iso = (t) => (t === null ? null : new Date(t).toISOString());
    return c.host.map((host, i) => {
      const sockets = {};
      c.kinds.forEach((k, j) => { if (c.sockets[i][j]) sockets[k] = c.sockets[i][j]; });
      const d = c.drift[i];
      return {
        host, tip: c.tip[i], lastSeen: iso(c.lastSeen[i]), lastPush: iso(c.lastPush[i]), changes: c.changes[i],
        lastChange: iso(c.lastChange[i]), lastChangeCommitted: iso(c.lastChangeCommitted[i]), clockOff: c.clockOff[i] === 1,
        sockets, silent: c.silent[i] === 1, drift: d ? { added: d[0], removed: d[1] } : null,
      };
    });
  }

  async function start() {
    header();
    $('filter').addEventListener('input', () => { state.filter = $('filter').value.trim(); state.page = 0; table(); });
    $('prev').addEventListener('click', () => { state.page--; table(); });
    $('next').addEventListener('click', () => { state.page++; table(); });
    $('go').addEventListener('click', search);
    $('q').addEventListener('keydown', (e) => { if (e.key === 'Enter') search(); });
    window.addEventListener('hashchange', route);
    try {
      const fleet = await getJson('fleet.json');
      const now = Date.now();
      state.rows = fleetRows(fleet.hosts);
      // silent as the drain saw it, or since then: a silent host starts no drain to say so
      fleet.hosts.lastSeen.forEach((t, i) => { state.rows[i].silentNow = state.rows[i].silent || t === null || now - t > fleet.silentAfterMs; });
      window.lsmStatus = () => state.rows.map(({ silentNow: _s, ...r }) => r); // for the tests: the rows as `lsm fleet status --json` has them
      const silent = state.rows.filter((r) => r.silentNow).length;
      $('generated').textContent = `Written ${when(fleet.generated)} by the central drain.`;
      $('summary').textContent = `${state.rows.length} host${state.rows.length === 1 ? '' : 's'}, ${silent} silent (no push for longer than ${Math.round(fleet.silentAfterMs / 60000)} minutes).`;
      if (fleet.days) { $('plot').hidden = false; $('plot').append(changesPlot(fleet.days, 'Whole fleet, changes per day')); }
      table();
      document.body.dataset.ready = '1';
    } catch (e) {
      $('generated').textContent = `Cannot load the fleet: ${e.message}`;
    }
    route();
  }
  start();
})();
