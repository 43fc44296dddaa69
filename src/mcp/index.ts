export { createMcpEndpoint, type McpEndpoint, type McpEndpointOptions } from "./endpoint.js";
export { outcomeToResult } from "./results.js";
export { MCP_ROUTE_PATH, mcpRoutes } from "./routes.js";
