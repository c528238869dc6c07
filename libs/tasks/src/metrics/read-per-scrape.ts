/**
 * One read shared by the gauges collected in the same scrape: each gauge's `collect`
 * calls the returned function, the first call reads and the others of that turn of the
 * event loop get the same answer. A failed read answers `fallback`: the figures are left
 * out of that scrape rather than failing it.
 */
export function readPerScrape<T>(read: () => Promise<T>, fallback: T): () => Promise<T> {
  let once: Promise<T> | null = null;
  return () => {
    once ??= read()
      .catch(() => fallback)
      .finally(() => {
        setImmediate(() => {
          once = null;
        });
      });
    return once;
  };
}
