% rebase('base', title=framework)
<h1>{{framework}} guestbook</h1>
<ul>
% for entry in entries:
<li class="entry">{{entry}}</li>
% end
% if not entries:
<li>no entries yet</li>
% end
</ul>
<form method="post" action="/sign"><input name="content"><button>Sign</button></form>
