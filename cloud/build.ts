/**
 * Builds the cloud package n8n-nodes-esi-leap-cloud from this source tree, with n8n's own tools:
 *
 *   npm run build:cloud       → build/n8n-nodes-esi-leap-cloud-<version>.tgz
 *
 * 1. Selects the sources: the entry points in cloud/package.json (`n8n.nodes`, `n8n.credentials`,
 *    as .ts) and every file they import, found by TypeScript's own module resolution. Nothing is
 *    listed by hand: what the cloud trigger's modes import is in, the rest (the Message Bus mode,
 *    amqplib, the bus core) is not.
 * 2. Stages them in build/cloud/ at their paths in this repository, with cloud/package.json,
 *    n8n's default (cloud) eslint.config.mjs, a tsconfig.json, the icons the sources reference and
 *    each node's codex file (the package prefix in its "node" field set to this package).
 * 3. Runs `n8n-node build` and `n8n-node lint` there (strict mode: the cloud rules, unmodified),
 *    then `npm pack`.
 *
 * The staged tree is generated, never committed (build/ is git-ignored). test/cloud/ checks what
 * comes out (test/cloud/verify.ts).
 */
import { spawnSync } from 'node:child_process';
import {
	cpSync,
	existsSync,
	mkdirSync,
	readFileSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const REPO = path.resolve(__dirname, '..');
export const STAGING = path.join(REPO, 'build', 'cloud');
const MANIFEST = path.join(REPO, 'cloud', 'package.json');

interface Manifest {
	name: string;
	version: string;
	n8n: { nodes: string[]; credentials: string[] };
	dependencies?: Record<string, string>;
}

export function readManifest(): Manifest {
	return JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
}

/** `dist/nodes/X/X.node.js` → `nodes/X/X.node.ts` */
function sourceOf(distPath: string): string {
	return distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

function rootCompilerOptions(): ts.CompilerOptions {
	const parsed = ts.getParsedCommandLineOfConfigFile(
		path.join(REPO, 'tsconfig.json'),
		{},
		{
			...ts.sys,
			onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
				throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
			},
		},
	);
	if (!parsed) throw new Error('tsconfig.json could not be read');
	return parsed.options;
}

/** The cloud package's sources: its entry points and every file they import (repo-relative). */
export function selectSources(): string[] {
	const manifest = readManifest();
	const entries = [...manifest.n8n.credentials, ...manifest.n8n.nodes].map((entry) =>
		path.join(REPO, sourceOf(entry)),
	);
	for (const entry of entries) {
		if (!existsSync(entry)) throw new Error(`cloud/package.json names ${entry}, which is missing`);
	}
	const program = ts.createProgram({ rootNames: entries, options: rootCompilerOptions() });
	return program
		.getSourceFiles()
		.filter((file) => !file.isDeclarationFile && !file.fileName.includes('/node_modules/'))
		.map((file) => path.relative(REPO, file.fileName))
		.sort();
}

/** `file:` icon paths in a source, resolved as n8n resolves them (next to the built file). */
function referencedIcons(source: string): string[] {
	const text = readFileSync(path.join(REPO, source), 'utf8');
	return [...text.matchAll(/'file:([^']+\.(?:svg|png))'/g)].map((match) =>
		path.normalize(path.join(path.dirname(source), match[1])),
	);
}

/**
 * The codex file of a node entry: the one beside it, else the full package's codex of the node
 * with the same file name (the cloud trigger is the full trigger with fewer modes).
 */
function codexOf(nodeSource: string): string {
	const beside = nodeSource.replace(/\.ts$/, '.json');
	if (existsSync(path.join(REPO, beside))) return beside;
	const name = path.basename(nodeSource, '.node.ts');
	return path.join('nodes', name, `${name}.node.json`);
}

function write(relative: string, content: string) {
	const target = path.join(STAGING, relative);
	mkdirSync(path.dirname(target), { recursive: true });
	writeFileSync(target, content);
}

function copy(relative: string, to = relative) {
	const target = path.join(STAGING, to);
	mkdirSync(path.dirname(target), { recursive: true });
	cpSync(path.join(REPO, relative), target);
}

/** Lays out build/cloud/: the selected sources and what n8n's tools need beside them. */
export function stage(): { sources: string[] } {
	const manifest = readManifest();
	const root = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Manifest;
	if (manifest.version !== root.version) {
		throw new Error(
			`cloud/package.json has version ${manifest.version}, package.json ${root.version}: both packages are released together, so set the same version in both`,
		);
	}
	const sources = selectSources();
	rmSync(STAGING, { recursive: true, force: true });
	mkdirSync(STAGING, { recursive: true });
	for (const source of sources) copy(source);
	for (const icon of new Set(sources.flatMap(referencedIcons))) {
		// n8n resolves an icon next to the built file; dist mirrors the sources, so the same path.
		copy(icon);
	}
	for (const node of manifest.n8n.nodes.map(sourceOf)) {
		const codex = JSON.parse(readFileSync(path.join(REPO, codexOf(node)), 'utf8')) as {
			node: string;
		};
		codex.node = `${manifest.name}.${codex.node.split('.').pop()}`;
		write(node.replace(/\.ts$/, '.json'), `${JSON.stringify(codex, null, '\t')}\n`);
	}
	copy('cloud/package.json', 'package.json');
	copy('cloud/eslint.config.mjs', 'eslint.config.mjs');
	copy('cloud/README.md', 'README.md');
	copy('LICENSE.md');
	const { compilerOptions } = JSON.parse(readFileSync(path.join(REPO, 'tsconfig.json'), 'utf8'));
	const directories = [...new Set(sources.map((source) => source.split('/')[0]))];
	write(
		'tsconfig.json',
		`${JSON.stringify(
			{
				// n8n loads JavaScript only: no declaration files (whose names n8n's scan would question).
				compilerOptions: { ...compilerOptions, incremental: false, declaration: false },
				include: directories.flatMap((directory) => [
					`${directory}/**/*`,
					`${directory}/**/*.json`,
				]),
			},
			null,
			'\t',
		)}\n`,
	);
	// n8n's tools (tsc, eslint and its plugins) come from this repository's devDependencies.
	symlinkSync(path.join(REPO, 'node_modules'), path.join(STAGING, 'node_modules'), 'dir');
	return { sources };
}

/**
 * The environment for n8n's tools: this one without NODE_ENV, which a test runner sets to "test"
 * and which makes eslint-plugin-n8n-nodes-base treat every file as a node file.
 */
export function toolEnvironment(): NodeJS.ProcessEnv {
	const environment = { ...process.env };
	delete environment.NODE_ENV;
	return environment;
}

function run(command: string, args: string[], cwd: string): string {
	const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: toolEnvironment() });
	const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
	if (result.status !== 0) {
		throw new Error(
			`${command} ${args.join(' ')} failed (exit ${result.status}) in ${cwd}:\n${output}`,
		);
	}
	return output;
}

const N8N_NODE = path.join(REPO, 'node_modules', '.bin', 'n8n-node');

export interface CloudBuild {
	sources: string[];
	tarball: string;
	lintOutput: string;
}

/** Stage, `n8n-node build`, `n8n-node lint`, `npm pack`; throws with the tool's output on failure. */
export function buildCloudPackage(): CloudBuild {
	const { sources } = stage();
	run(N8N_NODE, ['build'], STAGING);
	const lintOutput = run(N8N_NODE, ['lint'], STAGING);
	const packed = run('npm', ['pack', '--json', '--pack-destination', '..'], STAGING);
	const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('['))) as Array<{
		filename: string;
	}>;
	return { sources, tarball: path.join(STAGING, '..', filename), lintOutput };
}

if (require.main === module) {
	const build = buildCloudPackage();
	process.stdout.write(
		`${build.sources.length} source files selected; n8n-node lint clean\n${path.relative(REPO, build.tarball)}\n`,
	);
}
