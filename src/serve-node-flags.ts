/**
 * The Node flags `timebox serve` runs with: the container image sets them as NODE_OPTIONS, and
 * `npm start` passes them; the benchmarks and the chaos run start the bot with them too, so
 * they measure the bot as it is deployed (test/unit/serve-node-flags.test.ts keeps the three in
 * step).
 *
 * NB: on a machine with many GB, V8 lets the heap grow to four times what a full collection
 * left alive before it collects again, and its young generation to 48 MB: after 1,000
 * decisions the bot held 307 MB with 71 MB alive (docs/performance.md). An old generation of
 * at most 768 MB makes V8 collect at about 1.5 times what is alive, and 4 MB semi-spaces keep
 * the young generation at 12 MB; the same run then ends at 181–186 MB, and no figure of
 * `npm run bench` got slower. 768 MB holds the closed-history index of millions of requests
 * (about 120 bytes each) beside the open ones; a deployment that needs more sets NODE_OPTIONS.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-old-space-size=768', '--max-semi-space-size=4'];
