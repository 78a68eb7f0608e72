/**
 * The floors of mtarep (README "Architecture"): a floor imports only the floors below it.
 *   cli/  ->  collector/, web/  ->  views/  ->  lib/
 * `npm test` runs `depcruise` with this file (scripts/test.sh) and fails on any violation.
 * Type-only imports count too: a type is part of a floor's contract.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-is-the-ground',
      comment: 'lib/ is the shared ground: it imports nothing above it (cli, collector, web, views).',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(cli|collector|web|views)/' },
    },
    {
      name: 'collector-not-web',
      comment: 'The collector never imports the web app; what both need goes in lib/.',
      severity: 'error',
      from: { path: '^collector/' },
      to: { path: '^(web|views|cli)/' },
    },
    {
      name: 'web-not-collector',
      comment: 'The web app never imports the collector; what both need goes in lib/.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(collector|cli)/' },
    },
    {
      name: 'views-not-web',
      comment: 'Views own their props and display helpers; view models are built in web/viewmodel, not imported by views.',
      severity: 'error',
      from: { path: '^views/' },
      to: { path: '^(web|collector|cli)/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve would hide a dependency from these rules.',
      severity: 'error',
      from: { path: '^(lib|cli|collector|web|views)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
