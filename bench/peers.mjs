// bench/peers.mjs -- Automerge and Yjs replaying a workload trace of
// ../shared/workloads/gen_trace.py, for the side-by-side table of
// BENCHMARKS.md.  Prints one JSON object.
//
//   node peers.mjs TRACE [--batch N] [--load-only]
//
// Model, the same as libstek's: a map per record type, a map per record,
// one last-writer-wins value per field (Automerge: ImmutableString, i.e.
// scalar strings, not collaborative text; Yjs: a Y.Map per record whose
// values are plain JSON).  The base ("*") events are written on replica A
// in transactions of N records (Automerge.change / Y.transact), then every
// other replica starts from a copy of A (as `stek replay` copies the base
// store).  Offline edits are applied on their replica, one change each.
// Sync between two replicas:
//   Automerge -- its sync protocol (generateSyncMessage /
//     receiveSyncMessage) until both sides have nothing to send; bytes are
//     all messages, round trips the number of message exchanges / 2.
//   Yjs -- the y-protocols sync exchange: each side sends its state vector,
//     each answers with the update the other lacks (encodeStateAsUpdate(doc,
//     sv)); bytes are the two vectors and the two updates (1 round trip).
// Neither signs nor encrypts anything, and neither counts transport framing.
import { readFileSync } from "node:fs";
import * as A from "@automerge/automerge";
import * as Y from "yjs";

const args = process.argv.slice(2);
const path = args[0];
let batch = 400, loadOnly = false;
for (let i = 1; i < args.length; i++) {
  if (args[i] === "--batch") batch = Number(args[++i]);
  else if (args[i] === "--load-only") loadOnly = true;
}
const events = readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
let nBase = 0;
while (nBase < events.length && events[nBase].at === "*") nBase++;
const base = events.slice(0, nBase), rest = events.slice(nBase);
const replicas = [...new Set(rest.filter((e) => e.at).map((e) => e.at).concat(
  rest.filter((e) => e.sync).flatMap((e) => e.sync)))].sort();
const now = () => performance.now();
const mem = () => Math.round(process.memoryUsage().rss / 1024);

function amValue(v) {
  if (typeof v === "string") return new A.ImmutableString(v);
  if (Array.isArray(v)) return v.map((s) => new A.ImmutableString(s));
  return v;
}
function amPut(d, e) {
  if (!d[e.put]) d[e.put] = {};
  const m = d[e.put];
  if (!m[e.id]) m[e.id] = {};
  const r = m[e.id];
  for (const [k, v] of Object.entries(e.fields)) r[k] = amValue(v);
}
function amApply(d, e) {
  if (e.put) amPut(d, e);
  else if (e.del) { if (d[e.del] && d[e.del][e.id]) delete d[e.del][e.id]; }
}

// Run Automerge's sync protocol between docs[x] and docs[y] until neither
// side has anything to send; keep(sx, sy) receives the final sync states.
function syncPair(docs, x, y, sx, sy, keep) {
  let bytes = 0, msgs = 0;
  for (let guard = 0; guard < 1000; guard++) {
    let moved = false, m;
    [sx, m] = A.generateSyncMessage(docs[x], sx);
    if (m) { bytes += m.length; msgs++; moved = true; [docs[y], sy] = A.receiveSyncMessage(docs[y], sy, m); }
    [sy, m] = A.generateSyncMessage(docs[y], sy);
    if (m) { bytes += m.length; msgs++; moved = true; [docs[x], sx] = A.receiveSyncMessage(docs[x], sx, m); }
    if (!moved) break;
  }
  keep(sx, sy);
  return { bytes, messages: msgs, round_trips: Math.ceil(msgs / 2) };
}

function automerge() {
  const out = { name: "automerge" };
  let t0 = now();
  let a = A.init();
  for (let i = 0; i < base.length; i += batch)
    a = A.change(a, (d) => { for (const e of base.slice(i, i + batch)) amPut(d, e); });
  out.load_ms = now() - t0;
  t0 = now();
  const saved = A.save(a);
  out.save_ms = now() - t0;
  out.store_bytes = saved.length;
  out.rss_kb_after_load = mem();
  if (loadOnly) return out;
  const docs = { [replicas[0]]: a };
  // each replica its own actor id (A.load alone would reuse A's)
  replicas.slice(1).forEach((r, i) => { docs[r] = A.load(saved, { actor: (i + 1).toString(16).padStart(32, "0") }); });
  const key = (x, y) => [x, y].sort().join("");
  const states = {};
  for (const r of replicas.slice(1)) {
    let sx = A.initSyncState(), sy = A.initSyncState();
    syncPair(docs, replicas[0], r, sx, sy, (a1, b1) => { states[key(replicas[0], r)] = { [replicas[0]]: a1, [r]: b1 }; });
  }
  let shared = A.getHeads(docs[replicas[0]]);
  t0 = now();
  for (const e of rest) {
    if (e.at && (e.put || e.del)) docs[e.at] = A.change(docs[e.at], (d) => amApply(d, e));
  }
  out.edit_ms = now() - t0;
  // Two accounts of the same syncs: (1) the sync protocol, with the sync
  // states the two sides kept from syncing the base (encodeSyncState /
  // decodeSyncState, as Automerge recommends persisting them); (2) the
  // changes each side lacks since the last common heads, plus both heads
  // lists (32 bytes a hash) -- what an ideal change-shipping protocol over
  // Automerge would send.
  out.syncs = [];
  out.syncs_changes = [];
  t0 = now();
  for (const e of rest) {
    if (!e.sync) continue;
    const [x, y] = e.sync;
    // (2) changes, measured before the protocol moves them
    const cx = A.getChangesSince(docs[x], shared), cy = A.getChangesSince(docs[y], shared);
    const hx = new Set(cx.map((c) => A.decodeChange(c).hash)), hy = new Set(cy.map((c) => A.decodeChange(c).hash));
    const needY = cx.filter((c) => !hy.has(A.decodeChange(c).hash));
    const needX = cy.filter((c) => !hx.has(A.decodeChange(c).hash));
    const cbytes = needY.reduce((s1, c) => s1 + c.length, 0) + needX.reduce((s1, c) => s1 + c.length, 0) +
      32 * (A.getHeads(docs[x]).length + A.getHeads(docs[y]).length);
    out.syncs_changes.push({ a: x, b: y, bytes: cbytes, changes: needX.length + needY.length });
    // (1) the sync protocol
    const k = key(x, y);
    if (!states[k]) states[k] = { [x]: A.initSyncState(), [y]: A.initSyncState() };
    const ts = now();
    const r1 = syncPair(docs, x, y, A.decodeSyncState(A.encodeSyncState(states[k][x])),
      A.decodeSyncState(A.encodeSyncState(states[k][y])), (a1, b1) => { states[k] = { [x]: a1, [y]: b1 }; });
    out.syncs.push({ a: x, b: y, ms: now() - ts, ...r1 });
    shared = A.getHeads(docs[x]);
  }
  out.sync_ms = now() - t0;
  out.sync_bytes = out.syncs.reduce((s, x) => s + x.bytes, 0);
  out.sync_bytes_changes = out.syncs_changes.reduce((s, x) => s + x.bytes, 0);
  const heads = replicas.map((r) => JSON.stringify(A.getHeads(docs[r]).sort()));
  out.converged = heads.every((h) => h === heads[0]);
  out.store_bytes_after = Object.fromEntries(replicas.map((r) => [r, A.save(docs[r]).length]));
  out.rss_kb = mem();
  return out;
}

// JSON with sorted keys: Y.Map iterates in insertion order, which differs
// between replicas.
function canon(v) {
  if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
  if (v && typeof v === "object")
    return "{" + Object.keys(v).sort().map((k) => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";
  return JSON.stringify(v);
}

function yPut(doc, e) {
  const m = doc.getMap(e.put);
  let r = m.get(e.id);
  if (!r) { r = new Y.Map(); m.set(e.id, r); }
  for (const [k, v] of Object.entries(e.fields)) r.set(k, v);
}
function yApply(doc, e) {
  if (e.put) yPut(doc, e);
  else if (e.del) doc.getMap(e.del).delete(e.id);
}

function yjs() {
  const out = { name: "yjs" };
  let t0 = now();
  const a = new Y.Doc();
  for (let i = 0; i < base.length; i += batch)
    a.transact(() => { for (const e of base.slice(i, i + batch)) yPut(a, e); });
  out.load_ms = now() - t0;
  t0 = now();
  const saved = Y.encodeStateAsUpdate(a);
  out.save_ms = now() - t0;
  out.store_bytes = saved.length;
  out.store_bytes_v2 = Y.encodeStateAsUpdateV2(a).length;
  out.rss_kb_after_load = mem();
  if (loadOnly) return out;
  const docs = { [replicas[0]]: a };
  for (const r of replicas.slice(1)) { docs[r] = new Y.Doc(); Y.applyUpdate(docs[r], saved); }
  t0 = now();
  for (const e of rest) if (e.at && (e.put || e.del)) docs[e.at].transact(() => yApply(docs[e.at], e));
  out.edit_ms = now() - t0;
  out.syncs = [];
  t0 = now();
  for (const e of rest) {
    if (!e.sync) continue;
    const [x, y] = e.sync;
    const ts = now();
    const svx = Y.encodeStateVector(docs[x]), svy = Y.encodeStateVector(docs[y]);
    const ux = Y.encodeStateAsUpdate(docs[x], svy), uy = Y.encodeStateAsUpdate(docs[y], svx);
    Y.applyUpdate(docs[y], ux);
    Y.applyUpdate(docs[x], uy);
    const bytes = svx.length + svy.length + ux.length + uy.length;
    out.syncs.push({ a: x, b: y, ms: now() - ts, bytes, messages: 4, round_trips: 1 });
  }
  out.sync_ms = now() - t0;
  out.sync_bytes = out.syncs.reduce((s, x) => s + x.bytes, 0);
  const st = replicas.map((r) => canon(docs[r].getMap("directory").toJSON()) +
    canon(docs[r].getMap("schedule").toJSON()));
  out.converged = st.every((s) => s === st[0]);
  out.store_bytes_after = Object.fromEntries(replicas.map((r) => [r, Y.encodeStateAsUpdate(docs[r]).length]));
  out.rss_kb = mem();
  return out;
}

const which = process.env.PEERS ? process.env.PEERS.split(",") : ["automerge", "yjs"];
const result = { trace: path, base_records: base.length, events: rest.length, replicas, batch };
if (which.includes("automerge")) result.automerge = automerge();
if (which.includes("yjs")) result.yjs = yjs();
console.log(JSON.stringify(result));
