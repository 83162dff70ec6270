/* The daily lists (calls/lists.py): one pop-up (a note, a player, the filters) open at a time; a
   click elsewhere or Escape folds it again, except a player that is playing. */
'use strict';
{
    const POPUPS = 'details.xvb-unfold[open], details.xvb-filters[open]';

    function fold(keep) {
        document.querySelectorAll(POPUPS).forEach((details) => {
            const audio = details.querySelector('audio');
            if (details.contains(keep) || (audio && !audio.paused)) {
                return;
            }
            details.open = false;
        });
    }

    document.addEventListener('click', (event) => fold(event.target));
    document.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') {
            fold(null);
        }
    });
}
