import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { AvChatStrings } from '../av-chat/av-chat.strings.js';
import type { AvFileStrings } from '../av-file/av-file.strings.js';
import type { AvRecorderStrings } from '../av-recorder/av-recorder.strings.js';
import type { AvRoomStrings } from '../av-room/av-room.strings.js';

/** A language's strings for any of the elements; what it leaves out stays English. */
export interface Translation {
  'av-room'?: DeepPartial<AvRoomStrings>;
  'av-chat'?: DeepPartial<AvChatStrings>;
  'av-file'?: DeepPartial<AvFileStrings>;
  'av-recorder'?: DeepPartial<AvRecorderStrings>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (...args: never[]) => unknown ? T[K] : T[K] extends object ? Partial<T[K]> : T[K] };

/** Languages registered by the page, by lower-case tag. */
const registered = new Map<string, Translation>();
/** Languages that ship with the package, loaded on first use (a chunk of their own: the bundle stays small). */
const bundled: Record<string, () => Promise<Translation>> = {
  'zh-cn': () => import('../i18n/zh-CN.js').then((m) => m.zhCN),
};
/** Tags that mean a bundled language. */
const ALIASES: Record<string, string> = { zh: 'zh-cn', 'zh-hans': 'zh-cn', 'zh-hans-cn': 'zh-cn', 'zh-sg': 'zh-cn' };
const loaded = new Map<string, Promise<Translation>>();
const controllers = new Set<TranslationController<object>>();

/**
 * Adds (or replaces) a language for every element of the page, e.g. `registerTranslation('fr', { 'av-chat': { send:
 * 'Envoyer' } })`; elements whose `lang` (their own, or the closest ancestor's: `<html lang>` is the page-wide
 * default) matches show it at once. Keys left out stay English.
 */
export function registerTranslation(lang: string, translation: Translation): void {
  registered.set(lang.toLowerCase(), translation);
  for (const c of controllers) void c.apply(true);
}

/** The translation for a language tag: the page's, then a bundled one, trying `zh-Hant-TW`, `zh-hant`, `zh` in turn. */
async function translationFor(lang: string): Promise<Translation | undefined> {
  const parts = lang.toLowerCase().split('-');
  for (let n = parts.length; n > 0; n--) {
    const tag = parts.slice(0, n).join('-');
    const page = registered.get(tag);
    if (page) return page;
    const own = bundled[tag] ? tag : ALIASES[tag];
    if (own && bundled[own]) {
      if (!loaded.has(own)) loaded.set(own, bundled[own]());
      return loaded.get(own);
    }
  }
  return undefined;
}

/** English with a translation laid over it (one level down too: `state`, `quality` and the like). */
function overlay<S extends object>(english: S, t: object | undefined): S {
  if (!t) return english;
  const out = { ...english } as Record<string, unknown>;
  for (const [k, v] of Object.entries(t)) {
    const base = out[k];
    out[k] = v && typeof v === 'object' && base && typeof base === 'object' ? { ...base, ...v } : v;
  }
  return out as S;
}

/** One observer for the whole page: a `lang` that changes anywhere re-translates the elements. */
let observer: MutationObserver | undefined;

/**
 * Gives an element its strings in its language: the element's own `lang`, else the closest ancestor's, else English.
 * Strings the page assigned itself (`el.strings = …`) are left alone.
 */
export class TranslationController<S extends object> implements ReactiveController {
  private applied: S | undefined;
  private lang = '';

  constructor(
    private readonly host: ReactiveControllerHost & HTMLElement & { strings: S },
    private readonly tag: keyof Translation,
    private readonly english: S,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    controllers.add(this);
    if (!observer && typeof MutationObserver !== 'undefined') {
      observer = new MutationObserver(() => {
        for (const c of controllers) void c.apply();
      });
      observer.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'], subtree: true });
    }
    void this.apply();
  }

  hostDisconnected(): void {
    controllers.delete(this);
  }

  /** Re-reads the language (`force`: also when it is unchanged, a translation of it having been registered). */
  async apply(force = false): Promise<void> {
    const own = this.host.strings;
    if (own !== this.english && own !== this.applied) return;
    const lang = this.host.closest('[lang]')?.getAttribute('lang')?.trim() ?? '';
    if (!force && lang === this.lang && own === (this.applied ?? this.english)) return;
    this.lang = lang;
    const t = lang && !/^en(-|$)/i.test(lang) ? await translationFor(lang).catch(() => undefined) : undefined;
    // A newer language, or the page's own strings, arrived meanwhile.
    if (this.lang !== lang || (this.host.strings !== this.english && this.host.strings !== this.applied)) return;
    const next = overlay(this.english, t?.[this.tag]);
    this.applied = next;
    this.host.strings = next;
  }
}
