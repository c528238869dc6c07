/**
 * `npm run build` (what the Dockerfile runs) must compile: the production program —
 * services, libraries and the migrate script, without tests, benchmarks or
 * libs/testing — type-checks with no error, and holds every entry point the image
 * starts. CI cannot build the image, so this is where a broken build is caught.
 */
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const REPO_ROOT = resolve(__dirname, '..');

function buildProgram(): ts.Program {
  const configPath = join(REPO_ROOT, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.build.json could not be read');
  return ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
}

describe('the production build (tsconfig.build.json)', () => {
  const program = buildProgram();
  const files = program
    .getSourceFiles()
    .map((file) => relative(REPO_ROOT, file.fileName))
    .filter((file) => !file.startsWith('node_modules'));

  it('type-checks without an error', () => {
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error)
      .map((diagnostic) => {
        const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        if (!diagnostic.file || diagnostic.start === undefined) return text;
        const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
        return `${relative(REPO_ROOT, diagnostic.file.fileName)}:${line + 1}: ${text}`;
      });
    expect(errors).toEqual([]);
  });

  it.each([
    'services/gateway/src/main.ts',
    'services/ledger/src/main.ts',
    'services/refund/src/main.ts',
    'services/settlement/src/main.ts',
    'scripts/migrate.ts',
  ])('compiles %s, an entry point of the image', (entry) => {
    expect(files).toContain(entry);
  });

  it('leaves tests and the test harness out of the image', () => {
    expect(files.filter((file) => /\.(spec|int-spec|e2e-spec)\.ts$/.test(file))).toEqual([]);
    expect(files.filter((file) => file.startsWith('libs/testing/'))).toEqual([]);
  });
});
