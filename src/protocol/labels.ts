/** @module protocol/labels — HPKE `info` labels: what each sealed message is for (a message sealed for one purpose never opens as another). */
export const JOIN_INFO = "grove/v1/join";
export const JOIN_REPLY_INFO = "grove/v1/join-reply";
export const CARD_INFO = "grove/v1/card";
