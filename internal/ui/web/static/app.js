// renderhook console: small progressive enhancements. Every page works
// without this script; it adds copy buttons, confirmations, filter
// auto-submit, preview status, colour pickers and a self-refresh for
// deliveries that still have attempts to come.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  for (const btn of document.querySelectorAll('[data-copy]')) {
    btn.addEventListener('click', async () => {
      const src = document.querySelector(btn.dataset.copy);
      if (!src) return;
      const text = 'value' in src ? src.value : src.textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        src.select?.();
        document.execCommand('copy');
      }
      const label = btn.textContent;
      btn.textContent = 'Copied';
      setTimeout(() => { btn.textContent = label; }, 1500);
    });
  }

  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }

  for (const el of document.querySelectorAll('[data-autosubmit]')) {
    el.addEventListener('change', () => el.form.submit());
  }

  for (const img of document.querySelectorAll('img[data-preview]')) {
    const status = document.querySelector(img.dataset.preview);
    const failed = document.getElementById('preview-failed');
    const done = () => {
      if (status) status.textContent = `Rendered ${img.naturalWidth}×${img.naturalHeight}.`;
    };
    const fail = () => {
      if (status) status.textContent = '';
      if (failed) failed.hidden = false;
      img.classList.add('broken');
    };
    if (img.complete) {
      if (img.naturalWidth > 0) done(); else fail();
    } else {
      img.addEventListener('load', done);
      img.addEventListener('error', fail);
    }
  }

  for (const picker of document.querySelectorAll('input[type=color][data-for]')) {
    const text = document.getElementById(picker.dataset.for);
    if (!text) continue;
    picker.addEventListener('input', () => { text.value = picker.value; });
    text.addEventListener('input', () => {
      if (/^#[0-9a-f]{6}$/i.test(text.value)) picker.value = text.value;
    });
  }

  const live = document.querySelector('[data-refresh]');
  if (live) {
    setTimeout(() => window.location.reload(), Number(live.dataset.refresh) || 2000);
  }
});
