// The part of ejs (7.x, which ships no types) the HTML report uses: a template compiled once into a function.

declare module 'ejs' {
  interface Options {
    filename?: string;
    /** Compile-time checks of the template that cost nothing at render time. */
    strict?: boolean;
    _with?: boolean;
    localsName?: string;
  }
  export type TemplateFunction = (data: Record<string, unknown>) => string;
  const ejs: { compile(template: string, options?: Options): TemplateFunction };
  export default ejs;
}
