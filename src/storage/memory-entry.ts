export { memoryStorage } from "./memory.js";
