import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time (user + system) of every process whose environment holds `marker`, split into n8n's
 * main process and the rest (task runners). Unlike executions/s, CPU per execution barely moves
 * with other work on a shared machine. Linux /proc only.
 */

const ticksPerSecond = (() => {
	try {
		return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
	} catch {
		return 100;
	}
})();

interface ProcessCpu {
	main: boolean;
	ms: number;
}

interface ProcessEntry {
	ppid: number;
	cpu: ProcessCpu;
	marked: boolean;
}

function readEntry(pid: string, marker: string): ProcessEntry | null {
	try {
		// Fields after the parenthesised command name: ppid is the 2nd, utime and stime the 12th and 13th.
		const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
		const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
		return {
			ppid: Number(fields[1]),
			marked: environ.split('\0').includes(marker),
			cpu: {
				main: cmdline.some((argument) => argument.endsWith('/n8n/bin/n8n')),
				ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond,
			},
		};
	} catch {
		// the process ended meanwhile, or is not ours to read
		return null;
	}
}

/** The processes carrying `marker` and their descendants (n8n starts task runners with a reduced environment). */
function readProcesses(marker: string): Map<number, ProcessCpu> {
	const entries = new Map<number, ProcessEntry>();
	for (const pid of readdirSync('/proc')) {
		if (!/^\d+$/.test(pid)) continue;
		const entry = readEntry(pid, marker);
		if (entry) entries.set(Number(pid), entry);
	}
	const ours = (pid: number): boolean => {
		for (let current = entries.get(pid); current; current = entries.get(current.ppid)) {
			if (current.marked) return true;
		}
		return false;
	};
	const found = new Map<number, ProcessCpu>();
	for (const [pid, entry] of entries) if (ours(pid)) found.set(pid, entry.cpu);
	return found;
}

export interface CpuUse {
	mainMs: number;
	othersMs: number;
}

/**
 * Call `sample()` often enough (e.g. with the RSS sampler) that a process which exits is seen
 * shortly before; `since()` then counts its last reading.
 */
export class CpuAccount {
	private readonly last = new Map<number, ProcessCpu>();
	private baseline = new Map<number, number>();

	constructor(private readonly marker: string) {}

	sample(): void {
		for (const [pid, cpu] of readProcesses(this.marker)) this.last.set(pid, cpu);
	}

	/** Starts counting from now. */
	mark(): void {
		this.sample();
		this.baseline = new Map([...this.last].map(([pid, cpu]) => [pid, cpu.ms]));
	}

	used(): CpuUse {
		this.sample();
		const use: CpuUse = { mainMs: 0, othersMs: 0 };
		for (const [pid, cpu] of this.last) {
			const ms = cpu.ms - (this.baseline.get(pid) ?? 0);
			if (cpu.main) use.mainMs += ms;
			else use.othersMs += ms;
		}
		return use;
	}
}
