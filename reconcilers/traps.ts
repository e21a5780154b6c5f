/**
 * The runbook's traps, as values. A reconciler that recognises one attaches
 * `{ trap, fix }` to its health, so `plan`, status, alerts and the PR comment
 * all show it the same way. The fix is an instruction a person can follow.
 */
import { compareVersions } from '../providers/host/probe.js';

export const TRAPS = {
  'customer-entry-missing': 'Add the customer block to customers.yaml (axe customers add {customer}) and merge it.',
  'host-asleep': "Disable sleep on the Mac mini: ask the customer's IT to run `sudo pmset -a sleep 0 disksleep 0` (and keep it on power).",
  'tailscale-peer-offline': "The Mac mini is not online in the tailnet: ask the customer's IT to open Tailscale and sign in; verify with `tailscale ping {host}` both ways.",
  'tailscale-relayed': 'The Tailscale path is relayed (DERP), not direct: open UDP 41641 outbound on the customer network or check `tailscale netcheck`; deploys over DERP are slow and flaky.',
  'tailscale-short-alias': 'Use the MagicDNS FQDN ({fqdn}) as tailscale_host in customers.yaml, not the short alias {alias}.',
  'ssh-non-login-path': 'Non-login SSH PATH lacks {tool} (found at {path}): axe calls tools by absolute path; install {tool} or add its directory to the host tool paths.',
  'ssh-key-refused': "SSH by key was refused: add the operator key to ~/.ssh/authorized_keys of {user} on the Mac mini (customer's IT).",
  'ssh-host-key-changed': 'The host key differs from the pinned one: verify the Mac mini was really reinstalled, then replace its line in the known_hosts file.',
  'services-slot-missing': 'Declare services.{service}.{customer}.secrets[] in customers.yaml (or the customer is sovereign and this service is not for it).',
  'cloudflare-token-missing': 'Put the Cloudflare API token in the vault once: axe secret push CLOUDFLARE_API_TOKEN --service cloudflare --customer operator.',
  'dns-foreign-record': 'A record axe does not own sits at {name}: remove or rename it in the Cloudflare dashboard, or adopt it by setting its comment to "{marker}".',
  'dns-txt-beside-cname': 'A TXT record sits at {name}, where the tunnel CNAME must go: move the TXT (e.g. domain verification) to a _-prefixed name.',
  'blueprint-sso-missing': "Blueprint started without its SSO secrets: ingest the customer's pack (axe customers ingest {customer} pack.json) and redeploy.",
  'hive-never-deployed': 'hive has never been deployed for this customer: merge its services.hive slot; the controller deploys it.',
  'vaultwarden-keys-missing': 'The customer vault lacks {keys}: first employees get "Your provider does not send email verification status" / "Failed to retrieve the invitation"; axe vault bootstrap {customer} --apply patches them.',
  'vaultwarden-sso-only': 'SSO_ONLY=true locks everyone out when Entra is down: set SSO_ONLY=false (axe vault bootstrap {customer} --apply).',
  'vaultwarden-domain-path': 'The vault DOMAIN must carry its /vault path (https://{public_domain}/vault), or the web vault 404s behind the tunnel.',
  'pii-passphrase-missing': 'Entity {entity} has no PII passphrases: the controller generates them in the vault; if generation is off, push them with axe secret push.',
  'bw-session-not-cached': 'BW_SESSION was exported but not kept: run axe vault login once (keeps the session in the keychain for 8 h).',
  'bw-cache-stale': 'The bw cache is stale (an item changed on the server): axe syncs before reading; if this persists run `bw sync`.',
  'bw-vault-locked': 'The operator vault is locked: run axe vault login.',
  'host-bw-cli-missing': "bw is not installed on the Mac mini, and {service} pulls its secrets there at deploy time: send the customer's IT: `brew install bitwarden-cli`, then `bw config server {vault_url}; bw login; (umask 077; bw unlock --raw > {file})` in Terminal on the Mac mini.",
  'host-bw-session-missing': "The Mac mini has no bw session at {file}, and {service} pulls its secrets there at deploy time: send the customer's IT: in Terminal on the Mac mini, `bw config server {vault_url}; bw login; (umask 077; bw unlock --raw > {file})`.",
  'host-bw-session-mode': "{file} on the Mac mini is mode {mode}, not 0600: other users could read the session. Send the customer's IT: in Terminal on the Mac mini, `bw lock; (umask 077; bw unlock --raw > {file}); chmod 600 {file}` (a new session; the old one is dead).",
  'host-bw-session-locked': "{file} on the Mac mini no longer unlocks its vault (bw status: {status}), so {service} cannot pull its secrets: send the customer's IT: in Terminal on the Mac mini, `bw login --check || bw login; (umask 077; bw unlock --raw > {file})`.",
  'keychain-partition-prompt': 'Keychain prompts over SSH (partition list): run `security set-key-partition-list -S apple-tool:,apple: -s -k <login password> ~/Library/Keychains/login.keychain-db` once on the Mac mini.',
  'docker-external-missing': 'The external docker {what} {name} does not exist: axe creates it before compose up; to fix by hand: docker {what} create {name}.',
  'customers-yaml-directory': 'customers.yaml is a directory (created by mkdir or a bind mount): rm -r it and git checkout -- customers.yaml.',
  'bw-cli-crashing-version': 'bw CLI {version} crashes against the Vaultwarden (OIDCWarden) fork with toWrappedAccountCryptographicState: pin it, npm install -g @bitwarden/cli@2025.7.0.',
  'backup-stale': "The backups of {customer} are stale ({age}; max_age {max_age}): the host's schedule did not run or failed; see ~/.axe/backup/last-run and schedule.log on the host, then take one now: axe backup now {customer}.",
  'backup-repo-unreadable': 'restic cannot read the backup repository of {customer} ({detail}): check that ~/.axe/backup/password is the vault item {item} (axe apply pushes it) and run `restic -r ~/.axe/backup/repo check` on the host; never initialise a new repository over it (the old snapshots would be lost).',
  'backup-offsite-stale': "The off-box backups of {customer} are stale ({age}; max_age {max_age}) at {repository}: see ~/.axe/backup/last-run on the host (a failed off-box push names it), then take one now: axe backup now {customer}.",
  'backup-offsite-unreadable': "restic cannot read the off-box repository {repository} of {customer} ({detail}): from the Mac mini, as its login user, `ssh -o BatchMode=yes` to that host must log in with the host's own key (its public key in the NAS user's authorized_keys, the NAS host key in ~/.ssh/known_hosts); the password is the same vault item {item}.",
  'restore-drill-failed': 'The last restore drill of {customer} failed: read ~/.axe/backup/last-verify on the host, fix the repository or the dump, then run axe backup verify {customer} again.',
  'host-restic-missing': "restic is not installed on the Mac mini: send the customer's IT `brew install restic` (axe calls it by absolute path).",
  'service-check-failed': "{service}'s check {check} fails on the Mac mini of {customer} (wanted: {description}). {fix} To see its answer, on the host: {command}.",
  'launchd-gui-domain': 'A LaunchAgent in the gui/ domain fails over SSH without a GUI login: cloudflared runs as a LaunchDaemon in the system domain.',
} as const;

export type TrapName = keyof typeof TRAPS;

export interface Trap {
  trap: TrapName;
  fix: string;
}

/** The trap with its fix, placeholders filled: `trap('tailscale-short-alias', { fqdn, alias })`. */
export function trap(name: TrapName, vars: Record<string, string> = {}): Trap {
  const fix = TRAPS[name].replace(/\{(\w+)\}/g, (whole, key: string) => vars[key] ?? whole);
  return { trap: name, fix };
}

/**
 * The `bw-cli-crashing-version` trap when a bw CLI `version` is in the crash
 * range against the Vaultwarden (OIDCWarden) fork, i.e. newer than
 * `maxVersion`; null when it is not, or when `maxVersion` is null (the vault
 * it talks to is not that fork). The one rule for a Mac mini's bw and for
 * the operator's own bw (the one that runs `bw serve`).
 */
export function bwCrashTrap(version: string | null, maxVersion: string | null): Trap | null {
  if (!version || !maxVersion || compareVersions(version, maxVersion) <= 0) return null;
  return trap('bw-cli-crashing-version', { version });
}
