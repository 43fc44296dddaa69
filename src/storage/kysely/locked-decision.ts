import { StorageError } from "../../errors.js";
import type { LockedDecision, LockedDecisionRecord } from "../port.js";
import type { LockedChain } from "./audit-chain.js";
import { readCounters } from "./decision-inputs.js";
import { insertApproval } from "./governance.js";
import type { KyselyDialectName } from "./schema.js";
import { type Db, Passthrough } from "./transactions.js";

/**
 * `audit.decideAndAppend` inside the transaction whose head lock `chain` holds: the counters read here include
 * every record appended before, and none can be appended until this transaction ends.
 */
export async function decideLocked(
  trx: Db,
  chain: LockedChain,
  store: { dialect: KyselyDialectName; name: string; tenantId: string },
  call: LockedDecision,
): Promise<LockedDecisionRecord> {
  const counters = await readCounters(trx, store.tenantId, call.counters);
  let decided: ReturnType<LockedDecision["decide"]>;
  try {
    decided = call.decide(counters);
  } catch (error) {
    throw new Passthrough(error);
  }
  const { entry, approval } = decided;
  if (approval) {
    if (approval.tenant_id !== store.tenantId) throw new StorageError(store.name, "The approval is another tenant's");
    await insertApproval(trx, store.dialect, store.name, approval);
  }
  const [record] = await chain.append([entry]);
  if (!record) throw new StorageError(store.name, "The governed call's record was not stored");
  return { record, approval };
}
