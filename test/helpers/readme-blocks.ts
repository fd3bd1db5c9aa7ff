// The shell blocks of a Markdown file that a test must run: fenced with the info string `sh runnable`.
// Pure.

/** The bodies of the ```sh runnable blocks, in order. */
export function runnableBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh runnable[ \t]*\n([\s\S]*?)^```[ \t]*$/gm)].map((match) => match[1]!.trimEnd());
}
