/**
 * nest-cli.json must describe the tree as it is: every folder in services/ is an
 * application and every folder in libs/ a library, and each path it names (root,
 * sourceRoot, entry file, tsconfig) exists, so `nest build <project>`, the schematics
 * and editors that read the workspace find what they are told. Read from disk, no Nest.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const REPO_ROOT = resolve(__dirname, '..');

interface CompilerOptions {
  tsConfigPath?: string;
}

interface Project {
  type?: string;
  root?: string;
  sourceRoot?: string;
  entryFile?: string;
  compilerOptions?: CompilerOptions;
}

interface NestCliConfig extends Project {
  monorepo?: boolean;
  projects?: Record<string, Project>;
}

const config = JSON.parse(readFileSync(join(REPO_ROOT, 'nest-cli.json'), 'utf8')) as NestCliConfig;
const projects = config.projects ?? {};

function folders(parent: string): string[] {
  return readdirSync(join(REPO_ROOT, parent), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

const expected: [name: string, type: 'application' | 'library', root: string][] = [
  ...folders('services').map((name): [string, 'application', string] => [
    name,
    'application',
    `services/${name}`,
  ]),
  ...folders('libs').map((name): [string, 'library', string] => [name, 'library', `libs/${name}`]),
];

function isDirectory(path: string): boolean {
  return existsSync(join(REPO_ROOT, path)) && statSync(join(REPO_ROOT, path)).isDirectory();
}

function isFile(path: string): boolean {
  return existsSync(join(REPO_ROOT, path)) && statSync(join(REPO_ROOT, path)).isFile();
}

/** The files a tsconfig compiles, relative to the repository (throws on a broken config). */
function compiledFiles(tsConfigPath: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(REPO_ROOT, tsConfigPath), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`${tsConfigPath} could not be read`);
  const errors = parsed.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (errors.length > 0) throw new Error(`${tsConfigPath}: ${errors.join('; ')}`);
  return parsed.fileNames.map((file) => relative(REPO_ROOT, file));
}

describe('nest-cli.json', () => {
  it('is a monorepo whose default project is one of its projects', () => {
    expect(config.monorepo).toBe(true);
    const defaults = Object.values(projects).find((p) => p.root === config.root);
    expect(defaults).toBeDefined();
    expect(config.sourceRoot).toBe(defaults?.sourceRoot);
    expect(config.compilerOptions?.tsConfigPath).toBe(defaults?.compilerOptions?.tsConfigPath);
  });

  it('names every folder of services/ and libs/, and nothing else', () => {
    expect(Object.keys(projects).sort()).toEqual(expected.map(([name]) => name).sort());
  });

  it.each(expected)('%s: type %s, root %s', (name, type, root) => {
    expect(projects[name]).toMatchObject({
      type,
      root,
      sourceRoot: `${root}/src`,
      entryFile: type === 'application' ? 'main' : 'index',
    });
  });

  it.each(Object.entries(projects))('%s: every path exists', (_name, project) => {
    const { root = '', sourceRoot = '', entryFile = '' } = project;
    const tsConfigPath = project.compilerOptions?.tsConfigPath ?? '';
    expect({ root, exists: isDirectory(root) }).toEqual({ root, exists: true });
    expect({ sourceRoot, exists: isDirectory(sourceRoot) }).toEqual({ sourceRoot, exists: true });
    const entry = `${sourceRoot}/${entryFile}.ts`;
    expect({ entry, exists: isFile(entry) }).toEqual({ entry, exists: true });
    expect({ tsConfigPath, exists: isFile(tsConfigPath) }).toEqual({ tsConfigPath, exists: true });
  });

  it.each(Object.entries(projects))(
    '%s: its tsconfig compiles its entry file',
    (_name, project) => {
      const tsConfigPath = project.compilerOptions?.tsConfigPath ?? '';
      const entry = `${project.sourceRoot ?? ''}/${project.entryFile ?? ''}.ts`;
      expect(compiledFiles(tsConfigPath)).toContain(entry);
    },
  );
});
