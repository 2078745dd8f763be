/**
 * A small seeded generator (xorshift32) returning numbers in [0, 1), so a failing random case
 * can be replayed from its seed.
 */
export function seededRandom(seed: number): () => number {
	let state = seed >>> 0 || 1;
	return () => {
		state ^= state << 13;
		state ^= state >>> 17;
		state ^= state << 5;
		return (state >>> 0) / 2 ** 32;
	};
}
