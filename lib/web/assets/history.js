// gitdav web interface: history actions (restore, diff toggles). Owned by the history work (docs/web.md).
'use strict';
