// Pieces of config.toml that many tests share: role entries and a minimal whole config.

/** The role most tests ask for: "deployer", allowed for project group/app. */
export const DEPLOYER_ROLE = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
  [roles.allow]
  projects = ["group/app"]
`;

/** "deployer", allowed for project group/app on ref main only. */
export const MAIN_DEPLOYER_ROLE = `${DEPLOYER_ROLE}  refs = ["main"]
`;

/** A whole config with isolation "none" and one role "r"; STATE stands for the state directory. */
export const MINIMAL_CONFIG = `
[driver]
state_dir = "STATE"
builds_dir = "STATE/builds"
cache_dir = "STATE/cache"
audit_log = "STATE/audit.jsonl"
[job]
isolation = "none"
[[roles]]
name = "r"
arn = "arn:aws:iam::111122223333:role/r"
`;
