// `vargate/anthropic`: the Managed Agents upstream on @anthropic-ai/sdk, and the port it implements.
export { type AnthropicUpstreamOptions, anthropicUpstream } from "./anthropic.js";
export type {
  ManagedAgentsUpstream,
  UpstreamAgent,
  UpstreamAgentParams,
  UpstreamEvent,
  UpstreamEventParams,
  UpstreamEventStream,
  UpstreamMcpServer,
  UpstreamPermissionPolicy,
  UpstreamSession,
  UpstreamSessionParams,
  UpstreamToolConfig,
  UpstreamToolParam,
} from "./port.js";
