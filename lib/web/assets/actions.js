// gitdav web interface: a folder's actions (docs/web.md, "Actions and zip"). Plain script, no build step.
// Upload (file pickers, drag and drop; many files and whole folders; progress per file and overall;
// resumed after a cut), new folder, rename/move, delete — each the WebDAV request a client sends
// (PUT, MKCOL, MOVE, DELETE), so the server's checks hold; its refusals are shown with their message.
// On every page, read-only too: "Download as zip" shows the server's refusal (too big) as a message.
// Resuming: the server keeps nothing of a PUT cut off mid-body (the file stays as the last finished
// PUT left it), so a big file goes up in chunks (a PUT, then `Content-Range` PUTs); after a network
// error a HEAD's Content-Length says how much the server holds, and the upload goes on from there.
'use strict';
(function () {
  const CHUNK = 64 * 1024 * 1024; // the first piece (then each twice the last); tests set window.gitdavChunkBytes
  const RETRIES = 4; // network errors per chunk before giving up (back-off 1, 2, 4, 8 s)

  const $ = (sel, root) => (root || document).querySelector(sel);
  const notice = (text, kind) => window.gitdav && window.gitdav.notice(text, kind);
  const folderHref = () => {
    const p = $('main#folder').dataset.path || location.pathname;
    return p.endsWith('/') ? p : `${p}/`;
  };
  const enc = (name) => encodeURIComponent(name);
  const utf8Bytes = (s) => new TextEncoder().encode(s).length;
  const mib = (n) => (n < 1024 * 1024 ? `${Math.ceil(n / 1024)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

  /** Why a name cannot be used, or '' when it can. The server refuses these too. */
  function badName(name) {
    if (name === '') return 'a name cannot be empty';
    if (name.includes('/')) return `"${name}": a name cannot contain "/"`;
    if (name === '.' || name === '..') return `"${name}" cannot be used as a name`;
    if (name.includes('\0')) return 'a name cannot contain a NUL character';
    if (utf8Bytes(name) > 255) return `a name can be 255 bytes at most (this one has ${utf8Bytes(name)})`;
    return '';
  }

  /** The message of a refusal: the DAV error body's gitdav message, or its text. */
  async function refusal(status, statusText, body) {
    let message = (body || '').trim();
    if (message.startsWith('<')) {
      try {
        const doc = new DOMParser().parseFromString(message, 'application/xml');
        const m = doc.getElementsByTagNameNS('*', 'message')[0];
        message = m ? m.textContent : doc.documentElement.textContent.trim();
      } catch {
        /* keep the text */
      }
    }
    return `${status} ${statusText || ''}${message ? `: ${message.slice(0, 500)}` : ''}`.replace(/ +:/, ':');
  }

  class HttpError extends Error {}

  /** A WebDAV request by fetch; throws HttpError with the server's status and message unless ok(status). */
  async function dav(method, url, headers, ok) {
    const r = await fetch(url, { method, headers: headers || {}, credentials: 'same-origin' });
    if (!(ok ? ok(r.status) : r.ok)) throw new HttpError(await refusal(r.status, r.statusText, await r.text()));
    return r;
  }

  /** Shows the listing as the server has it now, in place (the upload list stays). */
  async function refreshListing() {
    const r = await fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin', cache: 'no-store' });
    if (!r.ok) return location.reload();
    const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
    const fresh = $('table#entries', doc);
    const old = $('table#entries');
    if (!fresh || !old) return location.reload();
    old.replaceWith(document.adoptNode(fresh));
    if (window.gitdav && window.gitdav.humanTimes) window.gitdav.humanTimes(fresh);
  }

  // ---- uploads ----

  /** One XHR PUT of `blob`; `range` = [first, total] for a Content-Range PUT. Resolves {status, etag, text}. */
  function putOnce(url, blob, range, etag, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', url);
      if (range) xhr.setRequestHeader('Content-Range', `bytes ${range[0]}-${range[0] + blob.size - 1}/${range[1]}`);
      if (etag) xhr.setRequestHeader('If-Match', etag);
      xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => resolve({ status: xhr.status, statusText: xhr.statusText, etag: xhr.getResponseHeader('ETag'), text: xhr.responseText });
      xhr.onerror = () => reject(new Error('network error'));
      xhr.ontimeout = () => reject(new Error('timed out'));
      xhr.send(blob); // a File slice: the browser streams it from disk
    });
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /** Uploads one file in chunks, resuming after network errors from what a HEAD says arrived. */
  async function uploadFile(url, file, onProgress) {
    // Each Content-Range PUT stores the whole file so far (a git blob per piece), so pieces double:
    // the bytes written stay under about twice the file's size, where equal pieces grow with its square.
    let chunk = window.gitdavChunkBytes || CHUNK;
    const size = file.size;
    let offset = 0;
    let etag = null;
    let failures = 0;
    do {
      const end = Math.min(size, offset + chunk);
      try {
        const partial = offset > 0;
        const r = await putOnce(url, file.slice(offset, end), partial ? [offset, size] : null, partial ? etag : null, (n) => onProgress(offset + n));
        if (r.status < 200 || r.status > 299) throw new HttpError(await refusal(r.status, r.statusText, r.text));
        offset = end;
        etag = r.etag;
        failures = 0;
        chunk *= 2;
        onProgress(offset);
      } catch (err) {
        if (err instanceof HttpError || ++failures > RETRIES) throw err instanceof HttpError ? err : new Error(`${file.name}: the connection failed ${failures} times (${err.message})`);
        await sleep(1000 * 2 ** (failures - 1));
        if (offset > 0) {
          // How much arrived: each finished PUT is whole on the server, so its length is where to go on.
          const h = await fetch(url, { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' }).catch(() => null);
          const held = h && h.ok ? Number(h.headers.get('Content-Length')) : NaN;
          if (Number.isSafeInteger(held) && held >= offset && held <= end) {
            offset = held;
            etag = h.headers.get('ETag');
          }
        }
        onProgress(offset);
      }
    } while (offset < size);
  }

  /** The uploads panel: a row per file with its progress bar, and the total. */
  function progressPanel(items) {
    const panel = $('#uploads');
    const list = $('#upload-list');
    const total = $('#upload-total');
    panel.hidden = false;
    const bytes = items.reduce((n, it) => n + it.file.size, 0) || 1;
    const done = new Array(items.length).fill(0);
    const rows = items.map((it) => {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'upload-name';
      label.textContent = it.path;
      const bar = document.createElement('progress');
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute('aria-label', `Upload of ${it.path}`);
      const state = document.createElement('span');
      state.className = 'upload-state';
      state.textContent = 'waiting';
      li.append(label, bar, state);
      list.append(li);
      return { li, bar, state };
    });
    total.max = 100;
    total.value = 0;
    total.setAttribute('aria-label', 'All uploads');
    let summary = $('#upload-summary');
    if (!summary) {
      summary = document.createElement('p');
      summary.id = 'upload-summary';
      total.before(summary);
    }
    const say = () => {
      const sent = done.reduce((a, b) => a + b, 0);
      summary.textContent = `${items.length} file${items.length === 1 ? '' : 's'}: ${Math.floor(total.value)}% (${mib(sent)} of ${mib(bytes === 1 ? 0 : bytes)})`;
    };
    say();
    return {
      progress(i, n) {
        done[i] = n;
        const size = items[i].file.size;
        rows[i].bar.value = size ? Math.min(100, (100 * n) / size) : 100;
        rows[i].state.textContent = `${Math.floor(rows[i].bar.value)}%`;
        total.value = Math.min(100, (100 * done.reduce((a, b) => a + b, 0)) / bytes);
        say();
      },
      finish(i, error) {
        rows[i].li.className = error ? 'failed' : 'done';
        rows[i].state.textContent = error ? error : 'done';
        if (!error) this.progress(i, items[i].file.size);
      },
      all() {
        if (bytes === 1 || done.reduce((a, b) => a + b, 0) >= bytes) total.value = 100;
        say();
      },
    };
  }

  /**
   * Uploads items {path: 'sub/dir/name', file} into this folder: the folders first (MKCOL, parents
   * before children; one that exists is fine), then the files, one at a time. Items {path, dir: true}
   * are empty folders (dropped).
   */
  async function upload(all) {
    if (all.length === 0) return;
    for (const it of all) {
      for (const part of it.path.split('/')) {
        const why = badName(part);
        if (why) return notice(`Nothing was uploaded: ${why}.`, 'error');
      }
    }
    const existing = new Set([...document.querySelectorAll('tr[data-name]')].map((tr) => tr.dataset.name));
    const tops = [...new Set(all.map((it) => it.path.split('/')[0]))];
    const clashes = tops.filter((n) => existing.has(n));
    // A folder over one page lists only some of its members here: ask the server about the others
    // (at most 500; past that the upload asks once for all).
    if (document.querySelector('p.pages a')) {
      const unseen = tops.filter((n) => !existing.has(n));
      if (unseen.length > 500) clashes.push(`${unseen.length - 500} more names not checked`);
      for (const n of unseen.slice(0, 500)) {
        const h = await fetch(folderHref() + enc(n), { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' }).catch(() => null);
        if (h && h.ok) clashes.push(n);
      }
    }
    if (clashes.length && !window.confirm(`${clashes.length === 1 ? `"${clashes[0]}" exists` : `${clashes.length} of these exist`} here. Replace?`)) return;
    const base = folderHref();
    const dirs = new Set();
    for (const it of all) {
      const parts = it.path.split('/');
      for (let i = 1; i <= parts.length; i++) if (i < parts.length || it.dir) dirs.add(parts.slice(0, i).join('/'));
    }
    const items = all.filter((it) => !it.dir); // an empty folder dropped is a {path, dir: true}: made by MKCOL only
    const panel = progressPanel(items);
    try {
      for (const d of [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1))) {
        await dav('MKCOL', base + d.split('/').map(enc).join('/') + '/', {}, (s) => (s >= 200 && s < 300) || s === 405);
      }
    } catch (err) {
      notice(`Could not make the folders: ${err.message}`, 'error');
      return;
    }
    let failed = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      try {
        await uploadFile(base + it.path.split('/').map(enc).join('/'), it.file, (n) => panel.progress(i, n));
        panel.finish(i, '');
      } catch (err) {
        failed++;
        panel.finish(i, err.message);
        notice(`${it.path}: ${err.message}`, 'error');
      }
    }
    panel.all();
    await refreshListing();
    if (!failed) notice(`Uploaded ${items.length} file${items.length === 1 ? '' : 's'}${dirs.size ? ` and ${dirs.size} folder${dirs.size === 1 ? '' : 's'}` : ''}.`, 'ok');
  }

  /** Files and folders dropped: the entries API walks folders (readEntries pages: read until empty). */
  async function droppedItems(dataTransfer) {
    const entries = [...dataTransfer.items].map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
    if (!entries.some(Boolean)) return [...dataTransfer.files].map((f) => ({ path: f.name, file: f }));
    const items = [];
    const walk = async (entry, prefix) => {
      if (!entry) return;
      if (entry.isFile) {
        const file = await new Promise((res, rej) => entry.file(res, rej));
        items.push({ path: prefix + entry.name, file });
        return;
      }
      const reader = entry.createReader();
      let batch;
      const children = [];
      do {
        batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        children.push(...batch);
      } while (batch.length);
      if (children.length === 0) items.push({ path: prefix + entry.name, dir: true });
      for (const c of children) await walk(c, `${prefix}${entry.name}/`);
    };
    for (const e of entries) await walk(e, '');
    return items;
  }

  // ---- new folder, rename/move, delete ----

  async function newFolder() {
    const name = window.prompt('Name of the new folder:');
    if (name === null) return;
    const why = badName(name.trim());
    if (why) return notice(`No folder was made: ${why}.`, 'error');
    await dav('MKCOL', `${folderHref()}${enc(name.trim())}/`);
    await refreshListing();
    notice(`Made the folder "${name.trim()}".`, 'ok');
  }

  /**
   * A destination typed by a person: a name (here), a relative path, or /an/absolute/path (from the
   * root); one ending in `/` names a folder to move into (`sub/` → sub/NAME), as `mv` does.
   */
  function destinationOf(answer, collection, name) {
    const absolute = answer.startsWith('/');
    if (answer.endsWith('/')) answer = `${answer}${name}`;
    const parts = answer.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
    for (const p of parts) {
      const why = badName(p);
      if (why) throw new HttpError(why);
    }
    const root = document.body.dataset.davRoot || '/';
    const base = absolute ? (root.endsWith('/') ? root : `${root}/`) : folderHref();
    return new URL(base + parts.map(enc).join('/') + (collection ? '/' : ''), location.origin).href;
  }

  async function rename(tr) {
    const name = tr.dataset.name;
    const collection = tr.dataset.kind === 'collection';
    const answer = window.prompt(`Rename or move "${name}" — a new name, a path (a/b or /from/the/top), or a folder to move it into (ending in /):`, name);
    if (answer === null || answer.trim() === '' || answer.trim() === name) return;
    let to;
    try {
      to = destinationOf(answer.trim(), collection, name);
    } catch (err) {
      return notice(`Nothing was renamed: ${err.message}.`, 'error');
    }
    let r = await dav('MOVE', tr.dataset.href, { Destination: to, Overwrite: 'F' }, (s) => (s >= 200 && s < 300) || s === 412);
    if (r.status === 412) {
      if (!window.confirm(`"${decodeURIComponent(new URL(to).pathname)}" exists. Replace it?`)) return;
      r = await dav('MOVE', tr.dataset.href, { Destination: to, Overwrite: 'T' });
    }
    await refreshListing();
    notice(`Moved "${name}" to ${decodeURIComponent(new URL(to).pathname)}.`, 'ok');
  }

  async function remove(tr) {
    const name = tr.dataset.name;
    const what = tr.dataset.kind === 'collection' ? `the folder "${name}" and everything in it` : `"${name}"`;
    if (!window.confirm(`Delete ${what}?`)) return;
    await dav('DELETE', tr.dataset.href);
    await refreshListing();
    notice(`Deleted "${name}".`, 'ok');
  }

  // ---- download as zip ----

  /**
   * A folder too big to zip is refused (413) before any byte: asked first with a HEAD, so the
   * refusal is a message on this page rather than a downloaded error. (The folder is walked twice,
   * bounded both times by the server's limits.)
   */
  async function zipDownload(a) {
    const h = await fetch(a.href, { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
    if (!h.ok) {
      const g = await fetch(a.href, { credentials: 'same-origin', cache: 'no-store' });
      throw new HttpError(`No zip: ${await refusal(g.status, g.statusText, g.ok ? '' : await g.text())}`);
    }
    a.dataset.checked = 'yes';
    try {
      a.click();
    } finally {
      delete a.dataset.checked;
    }
  }

  // ---- wiring ----

  function picker(folder) {
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.hidden = true;
    input.id = folder ? 'upload-folder-input' : 'upload-files-input';
    if (folder) input.webkitdirectory = true;
    input.addEventListener('change', () => {
      const files = [...input.files].map((f) => ({ path: folder && f.webkitRelativePath ? f.webkitRelativePath : f.name, file: f }));
      input.value = '';
      run(upload(files));
    });
    document.body.append(input);
    return input;
  }

  function run(promise) {
    promise.catch((err) => notice(err.message || String(err), 'error'));
  }

  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a[data-action="zip"]');
    if (!a || a.dataset.checked === 'yes') return;
    ev.preventDefault();
    run(zipDownload(a));
  });

  document.addEventListener('DOMContentLoaded', () => {
    const main = $('main#folder');
    if (!main || document.body.dataset.writable !== 'true') return;
    const files = picker(false);
    const folder = picker(true);
    document.addEventListener('click', (ev) => {
      const b = ev.target.closest && ev.target.closest('button[data-action]');
      if (!b) return;
      const tr = b.closest('tr[data-href]');
      switch (b.dataset.action) {
        case 'upload-files': return files.click();
        case 'upload-folder': return folder.click();
        case 'new-folder': return run(newFolder());
        case 'rename': return tr && run(rename(tr));
        case 'delete': return tr && run(remove(tr));
      }
    });
    main.addEventListener('dragover', (ev) => {
      if (![...(ev.dataTransfer ? ev.dataTransfer.types : [])].includes('Files')) return;
      ev.preventDefault();
      main.classList.add('dropping');
    });
    main.addEventListener('dragleave', (ev) => {
      if (!main.contains(ev.relatedTarget)) main.classList.remove('dropping');
    });
    main.addEventListener('drop', (ev) => {
      ev.preventDefault();
      main.classList.remove('dropping');
      run(droppedItems(ev.dataTransfer).then(upload));
    });
  });
})();
