import { readFileSync, readdirSync } from 'node:fs';

/** Samples resident memory every `intervalMs`; `peak` is the highest sample so far. */
export class RssSampler {
	peak = 0;
	private timer: ReturnType<typeof setInterval> | undefined;

	constructor(
		private readonly read: () => number,
		private readonly intervalMs = 50,
	) {}

	start(): this {
		this.sample();
		this.timer = setInterval(() => this.sample(), this.intervalMs);
		return this;
	}

	sample(): number {
		const value = this.read();
		if (value > this.peak) this.peak = value;
		return value;
	}

	stop(): number {
		clearInterval(this.timer);
		this.sample();
		return this.peak;
	}
}

export const ownRss = () => process.memoryUsage().rss;

/**
 * Total RSS of every process whose environment holds `marker` (e.g. `N8N_USER_FOLDER=/tmp/x`):
 * n8n's main process and the task runners it starts. Linux /proc only.
 */
export function rssOfProcessesWith(marker: string): number {
	let total = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
			if (!environ.split('\0').includes(marker)) continue;
			const status = readFileSync(`/proc/${entry}/status`, 'latin1');
			const match = /VmRSS:\s+(\d+) kB/.exec(status);
			if (match) total += Number(match[1]) * 1024;
		} catch {
			// the process ended meanwhile, or is not ours to read
		}
	}
	return total;
}
