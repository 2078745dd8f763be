/**
 * Lead times as the user types them: `7d, 24h, 1h`, `90m`, `30s`, combined units (`1d12h`), or a
 * bare number of hours. Parsed once at activation; errors name the entry.
 */
const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const ENTRY = /^(?:\d+(?:\.\d+)?[dhms])+$/;
const PART = /(\d+(?:\.\d+)?)([dhms])/g;

export class LeadTimeError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'LeadTimeError';
	}
}

/** Seconds of each entry, descending and without repeats. Throws LeadTimeError. */
export function parseLeadTimes(text: string): number[] {
	const entries = text
		.split(',')
		.map((entry) => entry.trim().toLowerCase().replace(/\s+/g, ''))
		.filter((entry) => entry !== '');
	if (entries.length === 0) throw new LeadTimeError('give at least one lead time, e.g. 24h');
	const seconds = entries.map((entry) => {
		let total: number;
		if (/^\d+(?:\.\d+)?$/.test(entry)) total = Number(entry) * UNIT_SECONDS.h;
		else if (ENTRY.test(entry)) {
			total = 0;
			for (const [, amount, unit] of entry.matchAll(PART))
				total += Number(amount) * UNIT_SECONDS[unit];
		} else {
			throw new LeadTimeError(`"${entry}" is not a duration (use d, h, m or s, e.g. 7d, 24h, 90m)`);
		}
		total = Math.round(total);
		if (total <= 0) throw new LeadTimeError(`"${entry}" must be longer than 0 s`);
		return total;
	});
	return [...new Set(seconds)].sort((a, b) => b - a);
}

/** Short text for a number of seconds: 604800 → `7d`, 86400 → `24h`, 5400 → `1h30m`. */
export function formatLeadTime(seconds: number): string {
	let rest = seconds;
	let text = '';
	// Days from two days on, so a day reads `24h` as people write it.
	for (const unit of seconds >= 2 * UNIT_SECONDS.d ? ['d', 'h', 'm', 's'] : ['h', 'm', 's']) {
		const amount = Math.floor(rest / UNIT_SECONDS[unit]);
		if (amount > 0) {
			text += `${amount}${unit}`;
			rest -= amount * UNIT_SECONDS[unit];
		}
	}
	return text || '0s';
}
