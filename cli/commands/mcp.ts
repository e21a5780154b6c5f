/**
 * `axe mcp`: serves the Model Context Protocol over stdio for the operators'
 * assistant (mcp/server.ts). Runs until the client closes stdin.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from '../../mcp/server.js';

export interface McpCliOptions {
  config?: string;
  repo?: string;
  url?: string;
}

export async function mcpCommand(options: McpCliOptions): Promise<number> {
  const server = createMcpServer(options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
  return 0;
}
