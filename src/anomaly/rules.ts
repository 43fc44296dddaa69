import type { AnomalyRule } from "./types.js";

/**
 * The default anomaly rule set. It extends the original Vargate's stream checks (destructive commands,
 * credential files, exfiltration, remote code execution, privilege escalation, scanning, network tools,
 * sensitive and system paths, traversal, large writes, domain allowlist) with root deletes, disk and
 * filesystem wipes, fork bombs, file uploads, remote copies, reverse shells and setuid bits.
 *
 * Rule ids are stable: a tenant's `disabled_rules` names them. An id is never reused for a different check.
 */

/** Built-in shell-like tools; their input carries the command line in `command` (or `input`). */
export const SHELL_TOOLS = ["bash", "shell", "terminal", "computer"] as const;
const SHELL_FIELDS = ["command", "input"] as const;

/** Built-in file tools; their input carries the path in `file_path` or `path`, and glob/grep a `pattern`. */
export const FILE_TOOLS = [
  "read",
  "write",
  "edit",
  "glob",
  "grep",
  "str_replace_editor",
  "file",
  "notebook_edit",
] as const;
const FILE_PATH_FIELDS = ["file_path", "path", "pattern", "notebook_path"] as const;

/** Web tools; `web_fetch` takes a `url`, `web_search` a `query`. */
export const WEB_TOOLS = ["web_fetch", "web_search", "fetch", "http", "curl"] as const;

/** Characters that end a shell word. */
const END = String.raw`(?=$|[\s;&|)'"\x60<>])`;
/**
 * The start of a command name: not the tail of a longer word (`git-rm`, `visudo`), optionally after a directory
 * (`/bin/rm`, `./nc`), which does not hide the command.
 */
const START = String.raw`(?<![\w./~-])(?:[\w.~-]*\/)*`;
/** The rest of one simple command: stops at `;`, `&`, `|` and newlines. */
const REST = String.raw`[^;&|\n]*?`;

/**
 * A file name or path segment that usually holds secrets: `.env` files (not `.env.example`), credentials,
 * secrets and password files, private keys and keystores, SSH keys and directories, `.netrc`, `.pgpass`,
 * git credentials, kube and docker configs. Public keys (`id_rsa.pub`) are not secrets.
 */
const SECRET_NAME = String.raw`(?:\.env(?!\.(?:example|sample|template|dist)\b)(?:\.[\w-]+)*|[\w-]*(?:credentials?|secrets?|passw(?:or)?ds?)(?:\.[\w-]+)*|[\w.-]*\.(?:pem|key|p12|pfx|jks|keystore)|id_(?:rsa|dsa|ecdsa|ed25519)|\.netrc|\.pgpass|\.git-credentials|\.ssh|\.kube\/config|\.docker\/config\.json)`;

/** Commands that read, copy or send a file. */
const READERS = `(?:cat|less|more|head|tail|tac|nl|strings|xxd|od|hexdump|base64|source|cp|mv|scp|rsync|tar|zip|gzip|openssl|vi|vim|nano|emacs|sed|awk|grep|egrep|fgrep|rg|curl|wget)`;

function re(source: string, flags = ""): RegExp {
  return new RegExp(source, flags);
}

export const DEFAULT_ANOMALY_RULES: readonly AnomalyRule[] = Object.freeze([
  // Destructive commands
  {
    kind: "pattern",
    id: "destructive_root_delete",
    description: "Recursive delete of the filesystem root or the home directory",
    severity: "critical",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}rm\s+(?:[^;&|\n]*?\s)?(?:--no-preserve-root|\/\*?|~\/?\*?|"?\$\{?HOME\}?"?\/?\*?)${END}`,
    ),
  },
  {
    kind: "pattern",
    id: "destructive_recursive_delete",
    description: "Recursive or forced delete (rm -r, rm -f, --recursive, --force)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`(?<!\bgit\s{1,8})${START}rm\s+(?:[^;&|\n]*?\s)?(?:-[A-Za-z]*[rRf][A-Za-z]*|--recursive|--force)${END}`,
    ),
  },
  {
    kind: "pattern",
    id: "filesystem_format",
    description: "Creating or wiping a filesystem (mkfs, mke2fs, wipefs)",
    severity: "critical",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(String.raw`${START}(?:mkfs(?:\.[a-z0-9]+)?|mke2fs|wipefs)${END}`),
  },
  {
    kind: "pattern",
    id: "disk_overwrite",
    description: "Writing raw data to a device (dd of=/dev/…, > /dev/sdX)",
    severity: "critical",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}dd\s${REST}\bof=\/dev\/(?!null\b|zero\b|stdout\b|stderr\b|fd\/)|>\s*\/dev\/(?:sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d)`,
    ),
  },
  {
    kind: "pattern",
    id: "secure_delete",
    description: "Irrecoverable file destruction (shred)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(`${START}shred${END}`),
  },
  {
    kind: "pattern",
    id: "fork_bomb",
    description: "Fork bomb (:(){ :|:& };:)",
    severity: "critical",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(String.raw`([\w:.]+)\s*\(\)\s*\{\s*\1\s*\|\s*\1\s*&`),
  },
  // Credential access
  {
    kind: "pattern",
    id: "credential_file_access",
    description: "Reading or copying a credential file (.env, credentials, secrets, passwords, keys, id_rsa, .ssh)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}${READERS}\s${REST}(?<=[\s\/\\'"=@:])${SECRET_NAME}(?=$|[\s\/\\'";|&)*<>\x60])`,
      "i",
    ),
  },
  {
    kind: "pattern",
    id: "system_credential_file",
    description: "Touching the system account or sudo files (/etc/shadow, /etc/passwd, /etc/sudoers)",
    severity: "critical",
    tools: [...SHELL_TOOLS, ...FILE_TOOLS],
    fields: [...SHELL_FIELDS, ...FILE_PATH_FIELDS],
    pattern: re(String.raw`\/etc\/(?:shadow|gshadow|passwd|master\.passwd|sudoers)(?![\w-])`),
  },
  // Exfiltration
  {
    kind: "pattern",
    id: "potential_exfiltration",
    description: "Sending data out with curl or wget (-d, --data, -F, -T, --upload-file, POST)",
    severity: "medium",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}curl(?=\s)${REST}(?:\s(?:-d|--data(?:-binary|-raw|-urlencode|-ascii)?|-F|--form(?:-string)?|-T|--upload-file|--json)(?=[\s=@'"]|$)|\s-d\S|\s-X\s*['"]?(?:POST|PUT|PATCH)\b|\s--request[\s=]+['"]?(?:POST|PUT|PATCH)\b)|${START}wget(?=\s)${REST}\s--(?:post-data|post-file|body-data|body-file|method[\s=]+['"]?(?:POST|PUT|PATCH)\b)`,
    ),
  },
  {
    kind: "pattern",
    id: "file_upload_exfiltration",
    description: "Uploading a local file with curl or wget (-d @file, -F x=@file, -T, --post-file)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}curl(?=\s)${REST}(?:\s(?:-d|--data(?:-binary|-urlencode|-ascii)?|--json)(?:\s+|=)?['"]?@[^\s'"]|\s(?:-F|--form)(?:\s+|=)?['"]?[^\s='"]+=['"]?[@<][^\s'"]|\s(?:-T|--upload-file)(?:\s|=))|${START}wget(?=\s)${REST}\s--(?:post-file|body-file)`,
    ),
  },
  {
    kind: "pattern",
    id: "remote_copy",
    description: "Copying files to or from a remote host (scp, rsync host:, sftp)",
    severity: "medium",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(String.raw`${START}(?:scp|rsync)(?=\s)${REST}\s['"]?(?:[\w.-]+@)?[\w.-]+:|${START}sftp${END}`),
  },
  {
    kind: "pattern",
    id: "encoded_exfiltration",
    description: "Encoding data and sending it out (base64 … | curl)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`\b(?:base64|xxd)\b[^\n]*\|[^\n]*${START}(?:curl|wget|nc|ncat|netcat|socat)${END}|${START}(?:curl|wget)\s[^\n]*\$\([^)]*\b(?:base64|xxd)\b`,
    ),
  },
  // Remote code execution
  {
    kind: "pattern",
    id: "remote_code_execution",
    description: "Running code fetched from the network (curl … | sh, wget … | bash, sh <(curl …))",
    severity: "critical",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}(?:curl|wget)\s[^\n]*?\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:\/[\w./]*\/)?(?:(?:ba|z|da|k|c|tc|fi|a)?sh|python[\d.]*|perl|ruby|node|php)(?![\w.-])|${START}(?:(?:ba|z|da|k)?sh|source|\.)\s+(?:-\S+\s+)*<\(\s*(?:curl|wget)\b|(?:${START}(?:ba|z|da|k)?sh\s+-c|${START}eval)\s+['"]?\$\(\s*(?:curl|wget)\b`,
    ),
  },
  // Privilege escalation
  {
    kind: "pattern",
    id: "privilege_escalation",
    description: "Running as another user (sudo, su, doas, pkexec)",
    severity: "medium",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(`${START}(?:sudo|doas|pkexec|su)${END}`),
  },
  {
    kind: "pattern",
    id: "world_writable_permissions",
    description: "Making files world-writable (chmod 777, chmod o+w)",
    severity: "medium",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}chmod\s+(?:-\S+\s+)*(?:0?[0-7]?[0-7][0-7][2367](?!\w)|[ugo]*[oa][ugo]*[+=][rwxXt]*w)`,
    ),
  },
  {
    kind: "pattern",
    id: "setuid_permissions",
    description: "Setting the setuid or setgid bit (chmod u+s, chmod 4755)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(String.raw`${START}chmod\s+(?:-\S+\s+)*(?:0?[2-7][0-7]{3}(?!\w)|[ugoa]*[+=][rwxXt]*s)`),
  },
  {
    kind: "pattern",
    id: "ownership_change",
    description: "Giving files to root (chown root)",
    severity: "medium",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(String.raw`${START}chown\s+(?:-\S+\s+)*root(?=$|[\s:.])`),
  },
  // Network
  {
    kind: "pattern",
    id: "network_scanning",
    description: "Network scanning (nmap, masscan, zmap, rustscan, nikto)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(`${START}(?:nmap|masscan|zmap|rustscan|nikto)${END}`),
  },
  {
    kind: "pattern",
    id: "network_tool_usage",
    description: "Raw network tools (nc, ncat, netcat, socat, telnet)",
    severity: "high",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(`${START}(?:nc|ncat|netcat|socat|telnet)${END}`),
  },
  {
    kind: "pattern",
    id: "reverse_shell",
    description: "Reverse or bind shell (nc -e, /dev/tcp/, socat exec:)",
    severity: "critical",
    tools: SHELL_TOOLS,
    fields: SHELL_FIELDS,
    pattern: re(
      String.raw`${START}(?:nc|ncat|netcat)(?=\s)${REST}\s(?:-[A-Za-z]*[ec]|--(?:exec|sh-exec|lua-exec))${END}|\/dev\/(?:tcp|udp)\/|${START}socat\s[^\n]*\b(?:exec|system):`,
    ),
  },
  // File tools
  {
    kind: "pattern",
    id: "sensitive_file_access",
    description: "A file tool on a credential file (.env, credentials, secrets, passwords, keys, id_rsa, .ssh)",
    severity: "high",
    tools: FILE_TOOLS,
    fields: FILE_PATH_FIELDS,
    pattern: re(String.raw`(?:^|[\/\\*{,\s])${SECRET_NAME}(?=$|[\/\\*},\s])`, "i"),
  },
  {
    kind: "pattern",
    id: "system_file_access",
    description: "A file tool on a system path (/proc, /sys, /dev, /etc)",
    severity: "medium",
    tools: FILE_TOOLS,
    fields: FILE_PATH_FIELDS,
    pattern: re(String.raw`^\/(?:proc|sys|dev|etc)(?:\/|$)`),
  },
  {
    kind: "pattern",
    id: "directory_traversal",
    description: "Directory traversal (../../)",
    severity: "high",
    tools: FILE_TOOLS,
    fields: FILE_PATH_FIELDS,
    pattern: re(String.raw`(?:^|[\/\\])(?:\.\.|%2e%2e)(?:[\/\\]|%2f|%5c)(?:\.\.|%2e%2e)(?:[\/\\]|%2f|%5c|$)`, "i"),
  },
  {
    kind: "max_length",
    id: "large_file_write",
    description: "A very large write (content over 50,000 characters)",
    severity: "medium",
    tools: ["write", "edit", "str_replace_editor", "file", "notebook_edit"],
    fields: ["content", "new_string", "file_text", "new_source"],
    max_length: 50_000,
  },
  // Web tools
  {
    kind: "domain_allowlist",
    id: "domain_not_allowlisted",
    description: "A web tool reaching a domain outside the tenant's domain_allowlist",
    severity: "medium",
    tools: WEB_TOOLS,
    fields: ["url", "query"],
  },
] satisfies AnomalyRule[]);

/** Ids of the default rules, in order. */
export const DEFAULT_ANOMALY_RULE_IDS: readonly string[] = Object.freeze(DEFAULT_ANOMALY_RULES.map((rule) => rule.id));
