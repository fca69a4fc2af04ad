% rebase('base', title='error')
<h1>{{code}}</h1><p>{{message}}</p>
