import { promises as fs } from 'node:fs';

/**
 * An append-only file kept open between writes: each `append` is one write and one fdatasync,
 * and a failed one (a full disk can take part of it) is cut off again, so the next append never
 * glues onto half a line. NB: opening, stat-ing and closing the file for every write cost three
 * more trips to libuv's thread pool per batch, for each of the store's files; at 10,000 grants
 * ending together they were a tenth of the write path.
 */
export class AppendFile {
  private handle?: fs.FileHandle;
  private opening?: Promise<fs.FileHandle>;
  /** Bytes in the file as far as this writer knows (its size when opened, plus what it appended). */
  private size = 0;

  constructor(readonly file: string) {}

  /** Appends `data` durably; on failure the file is as it was and the error is thrown. */
  async append(data: string | Buffer): Promise<void> {
    const handle = await this.open();
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      await handle.write(bytes);
      await handle.datasync();
    } catch (error) {
      await handle.truncate(this.size).catch(() => undefined);
      throw error;
    }
    this.size += bytes.length;
  }

  /** Empties the file (fsynced): what it held is covered elsewhere now (a snapshot). */
  async truncate(length = 0): Promise<void> {
    const handle = await this.open();
    await handle.truncate(length);
    await handle.sync();
    this.size = length;
  }

  async close(): Promise<void> {
    const handle = this.handle ?? (await this.opening?.catch(() => undefined));
    this.handle = undefined;
    this.opening = undefined;
    await handle?.close();
  }

  private async open(): Promise<fs.FileHandle> {
    if (this.handle) return this.handle;
    this.opening ??= (async () => {
      const handle = await fs.open(this.file, 'a');
      try {
        this.size = (await handle.stat()).size;
      } catch (error) {
        await handle.close();
        throw error;
      }
      return handle;
    })();
    try {
      this.handle = await this.opening;
      return this.handle;
    } finally {
      this.opening = undefined;
    }
  }
}
