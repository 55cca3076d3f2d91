/** @module views/tabs — the dashboard's tabs. Each capability adds its tab here when it lands. */

export interface Tab {
  id: string;
  label: string;
  href: string;
}

export const TABS: Tab[] = [
  { id: "files", label: "Files", href: "/files" },
  { id: "feed", label: "Feed", href: "/feed" },
  { id: "peers", label: "Peers", href: "/peers" },
  { id: "storage", label: "Storage", href: "/storage" },
  { id: "chat", label: "Chat", href: "/chat" },
  { id: "bounty", label: "Bounty", href: "/bounty" },
  { id: "settings", label: "Settings", href: "/settings" },
];
