/**
 * The shapes of a customer vault's organization as the vault emulator holds
 * it (see orgs.ts for the rules). Apart so that state.ts can name them
 * without importing the organization routes.
 */

export interface Selection {
  id: string;
  readOnly: boolean;
  hidePasswords: boolean;
  manage: boolean;
}

export interface OrgMember {
  id: string;
  userId: string;
  email: string;
  name: string | null;
  status: number;
  type: number;
  twoFactorEnabled: boolean;
}

export interface OrgCollection {
  id: string;
  organizationId: string;
  name: string;
  externalId: string | null;
  users: Selection[];
  groups: Selection[] | null;
}

export interface LabOrganization {
  id: string;
  name: string;
  enabled: boolean;
  members: OrgMember[];
  collections: OrgCollection[];
}
