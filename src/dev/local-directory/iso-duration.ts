/** Parses the ISO 8601 durations Graph uses in schedules ("PT2H", "P1DT30M", "PT0.5S") into milliseconds. */
export function parseIsoDuration(text: string): number | undefined {
  const match =
    /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      text,
    );
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, d, h, m, s] = match;
  const num = (v: string | undefined) => (v === undefined ? 0 : Number(v));
  return Math.round(((num(d) * 24 + num(h)) * 60 + num(m)) * 60_000 + num(s) * 1000);
}
