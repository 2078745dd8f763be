import { describe, expect, it } from 'vitest';

import { RecentIds } from '../../../nodes/core/bus/recentIds';

describe('RecentIds', () => {
	it('keeps the last `capacity` ids, dropping the oldest first; a repeated id counts as new', () => {
		const ids = new RecentIds(3);
		for (const id of ['a', 'b', 'c']) ids.add(id);
		ids.add('a');
		ids.add('d');
		expect(['a', 'b', 'c', 'd'].filter((id) => ids.has(id))).toEqual(['a', 'c', 'd']);
		expect(ids.size).toBe(3);
	});
});
