% rebase('base', title='hello')
<p>Hello, {{name}}!</p>
