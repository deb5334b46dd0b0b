// gradcourse: a wide code block gets a keyboard tab stop when it becomes visible.
// pydata-sphinx-theme gives every scrollable <pre> tabindex=0 at load (and on a window
// resize) so that keyboard users can scroll it; solutions are closed at load, so their
// wide code blocks were missed when opened (axe: scrollable-region-focusable). A
// ResizeObserver sees a block appear, and gives it the tab stop if it scrolls.
document.addEventListener("DOMContentLoaded", () => {
  const observer = new ResizeObserver((entries) => {
    for (const { target } of entries) {
      const scrolls =
        target.scrollWidth > target.clientWidth ||
        target.scrollHeight > target.clientHeight;
      if (scrolls) target.tabIndex = 0;
    }
  });
  document.querySelectorAll("pre").forEach((pre) => observer.observe(pre));
});
