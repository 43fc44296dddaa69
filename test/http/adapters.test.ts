// The shared HTTP contract, run once per adapter, each behind a real server and mounted under a prefix.
import { describeHttpContract } from "./contract.js";
import { startExpressServer, startFastifyServer, startFetchServer, startNodeServer } from "./servers.js";

describeHttpContract("node:http (toNodeHandler)", startNodeServer, { prefix: "/api" });
describeHttpContract("Express 5 (toExpressRouter)", startExpressServer, { prefix: "/api/governance" });
describeHttpContract("Fastify 5 (vargateFastify)", startFastifyServer, { prefix: "/v1/vargate" });
describeHttpContract("fetch (toFetchHandler)", startFetchServer, { prefix: "/edge" });
