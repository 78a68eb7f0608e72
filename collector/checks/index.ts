/**
 * Every collector check, in display order: a plain array (style note 2). A run runs each one over all
 * targets at once; the contract test (test/collector/contract.test.ts) runs its suite against each.
 */
import { dnsblCheck } from './dnsbl.js';
import { senderscoreCheck } from './senderscore.js';
import { sndsCheck } from './snds.js';
import { dnsMatchCheck } from './dns-match.js';
import { httpReputationCheck } from './http-reputation.js';
import type { Check } from './types.js';

export const checks: readonly Check[] = [dnsblCheck, senderscoreCheck, sndsCheck, dnsMatchCheck, httpReputationCheck];
