/** Attribute converters shared by the elements. */

/** `audio="off"` / `audio="false"` turn a default-on feature off; no attribute means on. */
export const onOffConverter = {
  fromAttribute: (value: string | null) => value === null || !/^(off|false|0|no)$/i.test(value.trim()),
  toAttribute: (value: boolean) => (value ? null : 'off'),
};

/** Like `onOffConverter`, but no attribute means "not set" (undefined), so a preset can decide. */
export const optionalOnOffConverter = {
  fromAttribute: (value: string | null) => (value === null ? undefined : !/^(off|false|0|no)$/i.test(value.trim())),
  toAttribute: (value: boolean | undefined) => (value === undefined ? null : value ? 'on' : 'off'),
};
