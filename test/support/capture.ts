/**
 * A stream for the CLI's tests: keeps what is written, and says whether it is a terminal (the CLI
 * draws its bar and colours only on one).
 */
export class Capture {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns = 100,
  ) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}
