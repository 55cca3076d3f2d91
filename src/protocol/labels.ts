/** @module protocol/labels — HPKE `info` labels: what each sealed message is for (a message sealed for one purpose never opens as another). */
export const JOIN_INFO = "grove/v1/join";
export const JOIN_REPLY_INFO = "grove/v1/join-reply";
export const CARD_INFO = "grove/v1/card";
/** Sync requests and answers between cells: `${SYNC_INFO}/${name}` and `${SYNC_INFO}/${name}/reply`. */
export const SYNC_INFO = "grove/v1/sync";
/**
 * Backup format 1 (HPKE to the cell's own X25519 key): anyone holding the card could seal one, so
 * a restore refuses them. Only for recognising (and testing) that old format; nothing seals with it.
 */
export const BACKUP_INFO = "grove/v1/backup";
/** Backup format 2 (protocol/backup-blob): first line of the AEAD associated data. */
export const BACKUP_AAD = "grove/v2/backup";
/** A grant delivered to its recipient, with its fetch pass and the manifest. */
export const SHARE_INFO = "grove/v1/share";
/** A message from one cell to another (POST /peer/msg): HPKE base mode, a fresh ephemeral key per message. */
export const MSG_INFO = "grove/v1/msg";
/** A bounty statement (POST /peer/bounty/statement): `${BOUNTY_INFO}` for the request, `${BOUNTY_INFO}/reply` for the answer. */
export const BOUNTY_INFO = "grove/v1/bounty";
/** A question to a friend's model (POST /peer/ai/chat) and every answer about it: `${AI_INFO}` for the request, `${AI_INFO}/reply` for the answers. */
export const AI_INFO = "grove/v1/ai";
/** A friendship notice (POST /peer/friend): `${FRIEND_INFO}` for the request, `${FRIEND_INFO}/reply` for the answer. */
export const FRIEND_INFO = "grove/v1/friend";
/** The file keys my cells share (POST /peer/tree/keys, crypto/key-ring), sealed to the asking cell of mine. */
export const TREE_KEYS_INFO = "grove/v1/tree-keys";
