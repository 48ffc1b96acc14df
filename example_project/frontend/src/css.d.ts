// esbuild bundles the style sheets main.ts imports into app.css.
declare module "*.css";
