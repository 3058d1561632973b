// gitdav web interface: the core every page loads (docs/web.md). Plain script, no build step.
// Times: <time datetime> shown as "3 minutes ago" (data-style="local": the local date and time), the exact local time on hover.
// Notices: gitdav.notice(text, kind) writes into #notice (role=status). Copy link: data-action="copy-link".
'use strict';
(function () {
  const units = [
    ['year', 365 * 24 * 3600],
    ['month', 30 * 24 * 3600],
    ['week', 7 * 24 * 3600],
    ['day', 24 * 3600],
    ['hour', 3600],
    ['minute', 60],
    ['second', 1],
  ];
  const rtf = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
  const exact = typeof Intl !== 'undefined' ? new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' }) : null;
  const local = typeof Intl !== 'undefined' ? new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }) : null;

  function relative(date, now) {
    const seconds = Math.round((date.getTime() - now) / 1000);
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size || unit === 'second') {
        const n = Math.round(seconds / size);
        return rtf ? rtf.format(n, unit) : `${Math.abs(n)} ${unit}${Math.abs(n) === 1 ? '' : 's'} ${n <= 0 ? 'ago' : 'from now'}`;
      }
    }
    return date.toLocaleString();
  }

  function humanTimes(root) {
    const now = Date.now();
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.getAttribute('datetime'));
      if (Number.isNaN(d.getTime())) continue;
      // data-style="local": a date and time in the reader's zone (an agenda); else "3 minutes ago".
      t.textContent = t.dataset.style === 'local' ? (local ? local.format(d) : d.toLocaleString()) : relative(d, now);
      t.title = exact ? exact.format(d) : d.toString();
    }
  }

  function notice(text, kind) {
    const box = document.getElementById('notice');
    if (!box) return;
    box.textContent = text;
    box.className = kind || 'info';
    box.hidden = false;
  }

  async function copyLink(a) {
    const url = new URL(a.getAttribute('href'), location.href).href;
    try {
      await navigator.clipboard.writeText(url);
      notice(`Copied ${url}`, 'ok');
    } catch {
      window.prompt('Copy this link:', url);
    }
  }

  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('[data-action="copy-link"]');
    if (!a) return;
    ev.preventDefault();
    copyLink(a);
  });

  window.gitdav = { notice, humanTimes, relative, root: () => document.body.dataset.davRoot || '/', writable: () => document.body.dataset.writable === 'true' };
  document.addEventListener('DOMContentLoaded', () => humanTimes(document));
})();
