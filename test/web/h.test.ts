import { describe, expect, it } from 'vitest';
import { html } from 'hono/html';
import { escapeHtml, h } from '../../views/h.js';

describe('h template', () => {
  it('escapes every interpolated value, in text and attributes', () => {
    const evil = `"><script>alert('x')</script>&`;
    expect(String(h`<td title="${evil}">${evil}</td>`)).toBe(
      '<td title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</td>',
    );
    expect(String(h`${[evil, 1, null, undefined, true]}`)).toBe(escapeHtml(evil) + '1');
    expect(String(h`${{ toString: () => '<b>' }}`)).toBe('&lt;b&gt;');
    // A plain String object that is not marked escaped is still escaped.
    expect(String(h`${new String('<i>')}`)).toBe('&lt;i&gt;');
  });

  it('keeps already-escaped fragments from h and hono html as they are', () => {
    const inner = h`<b>${'<x>'}</b>`;
    expect(String(h`<p>${inner}${html`<i>${'&'}</i>`}</p>`)).toBe('<p><b>&lt;x&gt;</b><i>&amp;</i></p>');
  });
});
