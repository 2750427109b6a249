// Copy to the clipboard; false when the browser refuses (no secure context), so the console can say so.
window.actionflowConsole = {
  copy: async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch { return false; }
  }
};
