// gifenc 1.0.3 ships no types; src/media/gif.ts types the three functions it uses.
declare module 'gifenc' {
  const gifenc: unknown;
  export default gifenc;
  export const GIFEncoder: unknown, quantize: unknown, applyPalette: unknown;
}
