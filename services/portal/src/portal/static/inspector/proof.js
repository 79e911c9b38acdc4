// 纪检监察：在浏览器中独立验证一条事件的包含证明（RFC 9162）和日志检查点的签名（C2SP signed note）。
// Nothing here trusts the portal's word: from the leaf bytes, the audit path, the signed
// checkpoint note and the log's verifier key (all in #proof-data) it recomputes
//   leaf hash = SHA-256(0x00 || leaf), node = SHA-256(0x01 || left || right) (RFC 9162 §2.1),
//   the root the path leads to (RFC 9162 §2.1.3.2),
//   the key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4] (c2sp.org/signed-note),
// and checks the Ed25519 signature of the checkpoint text with WebCrypto.
"use strict";

(() => {
  const enc = new TextEncoder();

  function b64decode(s) {
    if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
      throw new Error("不是合法的 base64：" + String(s).slice(0, 20));
    }
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  const b64encode = (u8) => btoa(String.fromCharCode(...u8));
  const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let i = 0;
    for (const p of parts) { out.set(p, i); i += p.length; }
    return out;
  };
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const sha256 = async (u8) => new Uint8Array(await crypto.subtle.digest("SHA-256", u8));
  const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
  const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

  // RFC 9162 §2.1.3.2: the root an inclusion proof leads to (steps 1-5; the caller compares).
  async function rootFromInclusionProof(hash, index, size, path) {
    if (!(index < size)) throw new Error(`叶序号 ${index} 不小于树大小 ${size}`);
    let fn = index, sn = size - 1, r = hash;
    for (const p of path) {
      if (p.length !== 32) throw new Error("审计路径中的哈希不是 32 字节");
      if (sn === 0) throw new Error("审计路径过长");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("审计路径过短");
    return r;
  }

  // c2sp.org/signed-note verifier key: <name>+<8 hex key ID>+<base64(0x01 || Ed25519 key)>
  async function parseVerifierKey(vkey) {
    const s = vkey.trim();
    const a = s.indexOf("+"), b = s.indexOf("+", a + 1);
    if (a < 1 || b < 0) throw new Error("公钥格式应为 名称+密钥ID+base64");
    const name = s.slice(0, a), idHex = s.slice(a + 1, b), raw = b64decode(s.slice(b + 1));
    if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error("密钥 ID 应为 8 位十六进制");
    if (raw.length !== 33 || raw[0] !== 0x01) throw new Error("不是 Ed25519（类型 0x01）公钥");
    const pub = raw.slice(1);
    const digest = await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(0x01), pub));
    const computedId = hex(digest.slice(0, 4));
    return { name, idHex, computedId, pub, fingerprint: hex(await sha256(pub)) };
  }

  // A signed note: text (ending in "\n"), a blank line, lines "— <name> <base64(keyID || sig)>".
  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("检查点缺少签名前的空行");
    const text = note.slice(0, split + 1);
    const block = note.slice(split + 2);
    if (!block.endsWith("\n")) throw new Error("签名块缺少结尾换行");
    const sigs = block.slice(0, -1).split("\n").map((line) => {
      if (!line.startsWith("\u2014 ")) throw new Error("不是签名行：" + line.slice(0, 40));
      const rest = line.slice(2), sp = rest.indexOf(" ");
      if (sp < 1) throw new Error("签名行格式错误");
      const raw = b64decode(rest.slice(sp + 1));
      if (raw.length < 5) throw new Error("签名过短");
      return { name: rest.slice(0, sp), idHex: hex(raw.slice(0, 4)), sig: raw.slice(4) };
    });
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) throw new Error("检查点应有来源、树大小、根哈希三行");
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("检查点树大小格式错误");
    const root = b64decode(lines[2]);
    if (root.length !== 32) throw new Error("检查点根哈希不是 32 字节");
    return { text, sigs, origin: lines[0], size: Number(lines[1]), root };
  }

  async function verifyEd25519(pub, sig, message) {
    const key = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, sig, message);
  }

  // Every step is recorded, pass or fail; the verdict is "verified" only if all passed.
  async function verify(data) {
    const steps = [];
    const step = (ok, what, detail) => steps.push({ ok, what, detail });
    const out = { steps, root: null, key: null };
    try {
      if (!window.crypto || !crypto.subtle) {
        throw new Error("此页面不在安全上下文（HTTPS）中，浏览器不提供 WebCrypto，无法验证");
      }
      const key = await parseVerifierKey(data.public_key);
      out.key = key;
      step(key.computedId === key.idHex, "日志公钥的密钥 ID 与公钥本身一致",
        `${key.name}，密钥 ID ${key.idHex}（由公钥计算得 ${key.computedId}）`);

      const cp = parseNote(data.checkpoint);
      const mine = cp.sigs.filter((s) => s.name === key.name && s.idHex === key.idHex);
      let signed = false;
      for (const s of mine) {
        signed = (await verifyEd25519(key.pub, s.sig, enc.encode(cp.text))) || signed;
      }
      step(signed, "检查点的 Ed25519 签名由该日志公钥验证通过",
        mine.length ? `签名行 ${mine.length} 条，其他（见证人）签名 ${cp.sigs.length - mine.length} 条未在此验证`
                    : "检查点上没有该公钥的签名");
      step(cp.origin === data.origin, "检查点来源（origin）为本日志", cp.origin);
      step(cp.size === data.tree_size, "检查点树大小与证明的树大小一致",
        `检查点 ${cp.size}，证明 ${data.tree_size}`);

      const leaf = b64decode(data.leaf);
      const lh = await leafHash(leaf);
      step(equal(lh, b64decode(data.leaf_hash)), "叶哈希 = SHA-256(0x00 ‖ 叶内容)",
        `${leaf.length} 字节叶内容 → ${b64encode(lh)}`);

      const path = data.proof.map(b64decode);
      const root = await rootFromInclusionProof(lh, data.leaf_index, data.tree_size, path);
      out.root = root;
      step(equal(root, cp.root), "由叶哈希和审计路径重算的默克尔根等于已签名检查点的根",
        `第 ${data.leaf_index} 号叶，树大小 ${data.tree_size}，路径 ${path.length} 个哈希；` +
        `重算根 ${b64encode(root)}，检查点根 ${b64encode(cp.root)}`);
    } catch (e) {
      step(false, "验证过程出错", String(e && e.message ? e.message : e));
    }
    out.ok = steps.length > 0 && steps.every((s) => s.ok);
    return out;
  }

  function render(box, result) {
    const verdict = box.querySelector("#proof-result");
    const list = box.querySelector("#proof-steps");
    list.replaceChildren(...result.steps.map((s) => {
      const li = document.createElement("li");
      li.className = s.ok ? "ok" : "bad";
      const mark = document.createElement("strong");
      mark.textContent = s.ok ? "✓ 通过 " : "✗ 未通过 ";
      const what = document.createElement("span");
      what.textContent = s.what;
      const detail = document.createElement("small");
      detail.textContent = s.detail || "";
      li.append(mark, what, document.createElement("br"), detail);
      return li;
    }));
    verdict.dataset.status = result.ok ? "verified" : "failed";
    verdict.className = "alert " + (result.ok ? "ok" : "error");
    const k = result.key;
    const keyText = k ? `日志公钥 ${k.name}，密钥 ID ${k.idHex}，公钥 SHA-256 指纹 ${k.fingerprint}` : "日志公钥无法解析";
    verdict.textContent = result.ok
      ? `验证通过：此事件是已签名检查点（树大小 ${box.dataset.treeSize}）所承诺日志中的第 ${box.dataset.leafIndex} 号叶。${keyText}。`
      : `验证失败：此证明不能证明该事件在已签名的日志中。${keyText}。请勿信任此记录，并向上级报告。`;
    const rootEl = box.querySelector("#computed-root");
    rootEl.textContent = result.root ? b64encode(result.root) : "—";
    rootEl.dataset.hex = result.root ? hex(result.root) : "";
  }

  async function run() {
    const box = document.getElementById("proof-check");
    if (!box) return;
    const verdict = box.querySelector("#proof-result");
    verdict.dataset.status = "running";
    verdict.textContent = "正在浏览器中验证……";
    let data;
    try {
      data = JSON.parse(document.getElementById("proof-data").textContent);
    } catch (e) {
      render(box, { ok: false, steps: [{ ok: false, what: "证明数据无法解析", detail: String(e) }] });
      return;
    }
    render(box, await verify(data));
  }

  window.bianminProof = { verify, run, rootFromInclusionProof, parseNote, parseVerifierKey };
  document.addEventListener("DOMContentLoaded", () => {
    const again = document.getElementById("proof-again");
    if (again) again.addEventListener("click", run);
    run();
  });
})();
