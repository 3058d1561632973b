// gitdav web interface: history actions (docs/web.md, "History pages"). Plain script, no build step.
// Restore: button[data-action=restore][data-from][data-to] sends the COPY a WebDAV client sends
// (from the version's /.history URL to the live one, Overwrite: T), after a confirm; the server makes
// the commit ("Restore <path> from <sha>"). Layout: a[data-action=layout] swaps the diffs between
// unified and side by side without a reload (the link works without JavaScript too).
'use strict';
(function () {
  const notice = (text, kind) => (window.gitdav ? window.gitdav.notice(text, kind) : window.alert(text));

  /** The message of a DAV error body (<g:message>), or its text. */
  function messageOf(text) {
    const m = /<(?:\w+:)?message[^>]*>([\s\S]*?)<\/(?:\w+:)?message>/.exec(text);
    const raw = m ? m[1] : text.replace(/<[^>]+>/g, ' ');
    const box = document.createElement('textarea');
    box.innerHTML = raw; // decodes entities; a textarea never runs markup
    return box.value.replace(/\s+/g, ' ').trim().slice(0, 300);
  }

  async function restore(button) {
    const from = button.dataset.from;
    const to = button.dataset.to;
    const name = decodeURIComponent(to.replace(/\/$/, '').split('/').pop() || '/');
    if (!window.confirm(`Restore “${name}” from this version? What is there now stays in history.`)) return;
    button.disabled = true;
    try {
      const r = await fetch(from, {
        method: 'COPY',
        headers: { Destination: new URL(to, location.href).href, Overwrite: 'T' },
        credentials: 'same-origin',
      });
      if (!r.ok) throw new Error(`${r.status} ${messageOf(await r.text())}`);
      notice(`Restored ${name}.`, 'ok');
      setTimeout(() => location.reload(), 800);
    } catch (err) {
      notice(`Could not restore ${name}: ${err.message}`, 'error');
      button.disabled = false;
    }
  }

  async function switchLayout(a) {
    const url = new URL(a.getAttribute('href'), location.href);
    try {
      const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
      if (!r.ok) throw new Error(String(r.status));
      const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
      const fresh = doc.querySelector('main');
      const main = document.querySelector('main');
      if (!fresh || !main) throw new Error('no page');
      main.replaceChildren(...Array.from(fresh.childNodes).map((n) => document.importNode(n, true)));
      history.pushState(null, '', url);
      if (window.gitdav) window.gitdav.humanTimes(main);
      const current = main.querySelector('a[data-action="layout"].current');
      if (current) current.focus();
    } catch {
      location.href = url.href; // the plain link
    }
  }

  document.addEventListener('click', (ev) => {
    const target = ev.target.closest ? ev.target : null;
    if (!target) return;
    const button = target.closest('button[data-action="restore"]');
    if (button) {
      ev.preventDefault();
      restore(button);
      return;
    }
    const layout = target.closest('a[data-action="layout"]');
    if (layout && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey && ev.button === 0) {
      ev.preventDefault();
      switchLayout(layout);
    }
  });
  window.addEventListener('popstate', () => {
    if (document.querySelector('#diffs')) location.reload();
  });
})();
