// Role entries of config.toml that many tests share.

/** The role most tests ask for: "deployer", allowed for project group/app. */
export const DEPLOYER_ROLE = `
[[roles]]
name = "deployer"
arn = "arn:aws:iam::111122223333:role/deployer"
  [roles.allow]
  projects = ["group/app"]
`;
