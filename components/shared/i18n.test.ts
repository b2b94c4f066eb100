import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import { avChatStrings } from '../av-chat/av-chat.strings.js';
import { registerTranslation } from './i18n.js';

/** Everything an element shows or names in its shadow DOM: text and accessible names. */
function shown(el: Element): string {
  const root = el.shadowRoot!;
  const names = [...root.querySelectorAll('[aria-label],[placeholder],[title]')].map((n) =>
    ['aria-label', 'placeholder', 'title'].map((a) => n.getAttribute(a) ?? '').join(' '),
  );
  return `${root.textContent ?? ''} ${names.join(' ')}`;
}

/** Polls until `el` shows `text` (the translation loads lazily), within 5 s. */
async function shows(el: Element, text: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!shown(el).includes(text)) {
    if (Date.now() > end)
      throw new Error(`<${el.localName}> never showed "${text}"; it shows: ${shown(el).replace(/\s+/g, ' ').slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('translations', () => {
  afterEach(() => document.documentElement.removeAttribute('lang'));

  it('renders every element in Simplified Chinese under lang="zh-CN", strings and accessible names alike', async () => {
    const wrap = await fixture<HTMLElement>(
      html`<div lang="zh-CN"><av-room></av-room><av-chat></av-chat><av-file></av-file><av-recorder></av-recorder></div>`,
    );
    const [room, chat, file, recorder] = [...wrap.children];
    await shows(room!, '通话控制');
    await shows(chat!, '此聊天未连接到房间。');
    await shows(file!, '未连接到房间。');
    await shows(recorder!, '此录制器未连接到房间。');
    expect(shown(chat!)).not.to.include(avChatStrings.noRoom);
    // The recorder's buttons are named in Chinese too.
    expect(recorder!.shadowRoot!.querySelector('button')!.textContent).to.match(/[\u4e00-\u9fff]/);
  });

  it("follows <html lang> as the page-wide default, an element's own lang first, and changes live", async () => {
    document.documentElement.lang = 'zh-Hans';
    const wrap = await fixture<HTMLElement>(html`<div><av-chat></av-chat><av-chat lang="en"></av-chat></div>`);
    const [zh, en] = [...wrap.children];
    await shows(zh!, '此聊天未连接到房间。');
    await shows(en!, avChatStrings.noRoom);
    document.documentElement.lang = 'en-GB';
    await shows(zh!, avChatStrings.noRoom);
  });

  it('takes languages a page registers, English for what they leave out, and never overrides strings the page set', async () => {
    registerTranslation('fr', { 'av-chat': { noRoom: 'Ce chat n’est relié à aucune salle.' } });
    const wrap = await fixture<HTMLElement>(html`<div lang="fr-CA"><av-chat></av-chat><av-chat></av-chat></div>`);
    const [fr, own] = [...wrap.children] as (HTMLElement & { strings: typeof avChatStrings })[];
    own!.strings = { ...avChatStrings, noRoom: 'Set by the page.' };
    await shows(fr!, 'Ce chat n’est relié à aucune salle.');
    expect(shown(fr!)).to.include(avChatStrings.placeholder);
    await shows(own!, 'Set by the page.');
    // Registered later for the language in use: shown at once.
    registerTranslation('fr', { 'av-chat': { noRoom: 'Pas de salle.' } });
    await shows(fr!, 'Pas de salle.');
    expect(shown(own!)).to.include('Set by the page.');
  });
});
